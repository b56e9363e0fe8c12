#include "manager/schedule_adapter.hpp"

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

using namespace std::chrono_literals;

const TimePoint k_t0 = TimePoint(std::chrono::hours(473'000));

class FixedClock : public Clock {
public:
  TimePoint now() const override { return k_t0; }
};

policy::Schedule every(std::chrono::milliseconds interval, bool persistent = false) {
  policy::Schedule schedule;
  schedule.kind = policy::Schedule::Kind::Every;
  schedule.every = interval;
  schedule.persistent = persistent;
  return schedule;
}

TEST(AScheduleAdapter, LeavesOnDemandJobsUnscheduled) {
  EXPECT_FALSE(to_scheduled_job("web", "f", policy::Schedule{}));
}

TEST(AScheduleAdapter, DrivesTheSchedulerWithAPolicyInterval) {
  FixedClock clock;
  std::vector<TimePoint> fired;
  Scheduler scheduler(clock,
                      [&](const std::string&, TimePoint due) { fired.push_back(due); });
  scheduler.set_jobs({*to_scheduled_job("web", "f", every(15min))},
                     {{"web", k_t0 - 5min}});
  EXPECT_EQ(scheduler.next_fire_time("web"), k_t0 + 10min);
  EXPECT_EQ(scheduler.tick(k_t0 + 10min + 300ms), k_t0 + 25min);
  EXPECT_EQ(fired.size(), 1u);
}

TEST(AScheduleAdapter, CatchesUpAPersistentPolicyJobOnce) {
  FixedClock clock;
  int fired = 0;
  Scheduler scheduler(clock, [&](const std::string&, TimePoint) { ++fired; });
  scheduler.set_jobs({*to_scheduled_job("web", "f", every(1h, true))},
                     {{"web", k_t0 - 5h}});
  EXPECT_EQ(scheduler.next_fire_time("web"), k_t0);
  scheduler.tick(k_t0);
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(scheduler.next_fire_time("web"), k_t0 + 1h);
}

TEST(AScheduleAdapter, RunsANeverRunIntervalJobRightAway) {
  FixedClock clock;
  Scheduler scheduler(clock, [](const std::string&, TimePoint) {});
  scheduler.set_jobs({*to_scheduled_job("web", "f", every(1h))});
  EXPECT_EQ(scheduler.next_fire_time("web"), k_t0);
}

} // namespace
} // namespace stasis::manager
