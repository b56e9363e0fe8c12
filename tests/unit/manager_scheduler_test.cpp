#include "manager/scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

using namespace std::chrono_literals;

const TimePoint k_t0 = TimePoint(std::chrono::hours(473'000)); // a whole hour

class FakeClock : public Clock {
public:
  TimePoint now() const override { return m_now; }
  TimePoint m_now = k_t0;
};

// "every <period>": relative to the last run, else to the given time.
NextFireFunction every(std::chrono::seconds period) {
  return [period](TimePoint after,
                  std::optional<TimePoint> last) -> std::optional<TimePoint> {
    TimePoint next = (last ? *last : after) + period;
    return next > after ? next : after + period;
  };
}

// "hourly": calendar-like, the next whole hour strictly after `after`.
std::optional<TimePoint> hourly(TimePoint after, std::optional<TimePoint>) {
  auto hours = std::chrono::floor<std::chrono::hours>(after);
  return TimePoint(hours + 1h);
}

ScheduledJob job(const std::string& name, NextFireFunction next, bool persistent = false,
                 std::chrono::milliseconds jitter = 0ms) {
  return ScheduledJob{name, "v1", std::move(next), jitter, persistent, {}};
}

class AScheduler : public ::testing::Test {
protected:
  FakeClock m_clock;
  std::vector<std::pair<std::string, TimePoint>> m_fired;
  Scheduler m_scheduler{
      m_clock,
      [this](const std::string& name, TimePoint due) { m_fired.emplace_back(name, due); },
      42};
};

TEST_F(AScheduler, FiresAnEveryJobEachPeriod) {
  m_scheduler.set_jobs({job("web", every(15min))});
  EXPECT_EQ(m_scheduler.tick(k_t0 + 1min), k_t0 + 15min);
  EXPECT_TRUE(m_fired.empty());
  EXPECT_EQ(m_scheduler.tick(k_t0 + 15min), k_t0 + 30min);
  ASSERT_EQ(m_fired.size(), 1u);
  EXPECT_EQ(m_fired[0], std::make_pair(std::string("web"), k_t0 + 15min));
  EXPECT_EQ(m_scheduler.last_run("web"), k_t0 + 15min);
}

TEST_F(AScheduler, FiresACalendarJobOnTheHour) {
  m_clock.m_now = k_t0 + 10min;
  m_scheduler.set_jobs({job("db", hourly)});
  EXPECT_EQ(m_scheduler.next_fire_time("db"), k_t0 + 1h);
  EXPECT_EQ(m_scheduler.tick(k_t0 + 1h + 3s), k_t0 + 2h); // a late wake-up
  ASSERT_EQ(m_fired.size(), 1u);
  EXPECT_EQ(m_fired[0].second, k_t0 + 1h);
}

TEST_F(AScheduler, FiresEachDueJobOnceWhenWokenLate) {
  m_scheduler.set_jobs({job("web", every(1min))});
  EXPECT_EQ(m_scheduler.tick(k_t0 + 10min), k_t0 + 11min);
  EXPECT_EQ(m_fired.size(), 1u);
}

TEST_F(AScheduler, KeepsJitterWithinItsBounds) {
  std::vector<ScheduledJob> jobs;
  for (int i = 0; i < 200; ++i) {
    jobs.push_back(job(fmt::format("j{}", i), hourly, false, 10min));
  }
  m_scheduler.set_jobs(std::move(jobs));
  std::set<TimePoint> distinct;
  for (int i = 0; i < 200; ++i) {
    auto at = m_scheduler.next_fire_time(fmt::format("j{}", i));
    ASSERT_TRUE(at);
    EXPECT_GE(*at, k_t0 + 1h);
    EXPECT_LT(*at, k_t0 + 1h + 10min);
    distinct.insert(*at);
  }
  EXPECT_GT(distinct.size(), 150u);
  m_scheduler.tick(k_t0 + 1h + 10min);
  EXPECT_EQ(m_fired.size(), 200u);
  for (const auto& fired : m_fired) {
    EXPECT_EQ(fired.second, k_t0 + 1h); // the callback gets the unjittered due time
  }
}

TEST_F(AScheduler, CatchesUpAPersistentJobOnceForManyMissedRuns) {
  m_scheduler.set_jobs({job("web", every(1h), true)}, {{"web", k_t0 - 5h}});
  EXPECT_EQ(m_scheduler.next_fire_time("web"), k_t0);
  EXPECT_EQ(m_scheduler.tick(k_t0), k_t0 + 1h);
  EXPECT_EQ(m_fired.size(), 1u);
  m_scheduler.tick(k_t0 + 30min);
  EXPECT_EQ(m_fired.size(), 1u);
}

TEST_F(AScheduler, DoesNotCatchUpWithoutPersistenceOrAMissedRun) {
  m_scheduler.set_jobs({job("volatile", every(1h), false), job("fresh", every(1h), true),
                        job("never", every(1h), true)},
                       {{"volatile", k_t0 - 5h}, {"fresh", k_t0 - 10min}});
  m_scheduler.tick(k_t0);
  EXPECT_TRUE(m_fired.empty());
  EXPECT_EQ(m_scheduler.next_fire_time("fresh"), k_t0 + 50min);
  EXPECT_EQ(m_scheduler.next_fire_time("never"), k_t0 + 1h);
}

TEST_F(AScheduler, UsesTheJobsOwnMissedRunPredicate) {
  auto persistent = job("web", hourly, true);
  persistent.missed_run = [](std::optional<TimePoint>, TimePoint) { return true; };
  m_scheduler.set_jobs({persistent});
  EXPECT_EQ(m_scheduler.next_fire_time("web"), k_t0);
}

TEST_F(AScheduler, KeepsLastRunTimesAndPendingTimesAcrossAReload) {
  m_scheduler.set_jobs({job("web", every(10min)), job("db", every(10min), false, 5min)});
  m_scheduler.tick(k_t0 + 10min);
  auto db_at = m_scheduler.next_fire_time("db");
  m_clock.m_now = k_t0 + 12min;
  auto changed = job("web", every(30min));
  changed.fingerprint = "v2";
  m_scheduler.set_jobs({changed, job("db", every(10min), false, 5min)},
                       {{"web", k_t0 - 1h}}); // older than what it knows: ignored
  EXPECT_EQ(m_scheduler.last_run("web"), k_t0 + 10min);
  EXPECT_EQ(m_scheduler.next_fire_time("web"), k_t0 + 40min);
  EXPECT_EQ(m_scheduler.next_fire_time("db"), db_at); // unchanged job keeps its jitter
}

TEST_F(AScheduler, ForgetsRemovedJobs) {
  m_scheduler.set_jobs({job("web", every(1min)), job("db", every(1min))});
  m_scheduler.set_jobs({job("db", every(1min))});
  m_scheduler.tick(k_t0 + 1min);
  ASSERT_EQ(m_fired.size(), 1u);
  EXPECT_EQ(m_fired[0].first, "db");
  EXPECT_FALSE(m_scheduler.next_fire_time("web"));
}

TEST_F(AScheduler, StopsSchedulingAJobWhoseScheduleEnds) {
  int calls = 0;
  m_scheduler.set_jobs({job(
      "once", [&](TimePoint after, std::optional<TimePoint>) -> std::optional<TimePoint> {
        return calls++ == 0 ? std::optional(after + 1min) : std::nullopt;
      })});
  EXPECT_EQ(m_scheduler.tick(k_t0 + 1min), std::nullopt);
  EXPECT_EQ(m_fired.size(), 1u);
}

TEST_F(AScheduler, FiresAThousandJobsInDueOrder) {
  std::mt19937 random(7);
  std::vector<ScheduledJob> jobs;
  for (int i = 0; i < 1000; ++i) {
    auto offset = std::chrono::seconds(random() % 86400 + 1);
    jobs.push_back(job(fmt::format("j{}", i), [offset](TimePoint after, auto) {
      return std::optional(after + offset);
    }));
  }
  m_scheduler.set_jobs(std::move(jobs));
  for (auto next = m_scheduler.tick(k_t0); next && m_fired.size() < 1000;) {
    next = m_scheduler.tick(*next);
  }
  ASSERT_GE(m_fired.size(), 1000u);
  m_fired.resize(1000);
  EXPECT_TRUE(std::is_sorted(m_fired.begin(), m_fired.end(),
                             [](auto& a, auto& b) { return a.second < b.second; }));
}

TEST(ASchedulerThread, FiresDueJobsOnTheRealClockAndStops) {
  SystemClock clock;
  std::atomic<int> fired{0};
  Scheduler scheduler(clock, [&](const std::string&, TimePoint) { ++fired; });
  scheduler.start();
  scheduler.set_jobs(
      {ScheduledJob{"fast",
                    "v1",
                    [](TimePoint after, auto) { return std::optional(after + 20ms); },
                    0ms,
                    false,
                    {}}});
  auto until = std::chrono::steady_clock::now() + 2s;
  while (fired < 3 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(5ms);
  }
  scheduler.stop();
  EXPECT_GE(fired.load(), 3);
}

} // namespace
} // namespace stasis::manager
