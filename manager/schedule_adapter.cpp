#include "manager/schedule_adapter.hpp"

namespace stasis::manager {
namespace {

std::chrono::sys_seconds to_seconds(TimePoint time) {
  return std::chrono::floor<std::chrono::seconds>(time);
}

std::optional<std::chrono::sys_seconds> to_seconds(std::optional<TimePoint> time) {
  if (!time) {
    return std::nullopt;
  }
  return to_seconds(*time);
}

} // namespace

std::optional<ScheduledJob> to_scheduled_job(const std::string& name,
                                             const std::string& fingerprint,
                                             const policy::Schedule& schedule) {
  if (schedule.kind == policy::Schedule::Kind::OnDemand) {
    return std::nullopt;
  }
  ScheduledJob job;
  job.name = name;
  job.fingerprint = fingerprint;
  job.jitter = schedule.jitter;
  job.persistent = schedule.persistent;
  job.next_fire =
      [schedule](TimePoint after,
                 std::optional<TimePoint> last_run) -> std::optional<TimePoint> {
    auto next = schedule.next_after(to_seconds(after), to_seconds(last_run));
    if (!next) {
      return std::nullopt;
    }
    // Whole seconds: a due time in the second `after` lies in is "now".
    return std::max<TimePoint>(*next, after);
  };
  job.missed_run = [schedule](std::optional<TimePoint> last_run, TimePoint now) {
    return schedule.missed_run(to_seconds(last_run), to_seconds(now));
  };
  return job;
}

} // namespace stasis::manager
