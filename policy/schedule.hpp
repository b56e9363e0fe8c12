// When a job runs: on demand only, at a fixed interval, or on a calendar.
#pragma once

#include "policy/calendar.hpp"

#include <chrono>
#include <optional>

namespace stasis::policy {

// A job's schedule (immutable value). Times are whole seconds; the scheduler
// adds the random `jitter` delay itself.
struct Schedule {
  enum class Kind { OnDemand, Every, Calendar } kind = Kind::OnDemand;
  std::chrono::milliseconds every{0};   // Kind::Every: the interval (> 0)
  std::optional<CalendarSpec> calendar; // Kind::Calendar: the event
  std::chrono::milliseconds jitter{0};  // random delay added by the scheduler
  bool persistent = false;              // catch up one missed run after downtime

  // Returns the next fire time after `after` (usually "now"), without jitter:
  //  - OnDemand: nullopt.
  //  - Every, never ran: `after` itself (due immediately; the only result that
  //    is not strictly later than `after`).
  //  - Every, ran before: the first of last_run + k * every (k >= 1) strictly
  //    after `after`; runs missed while stopped are skipped, keeping the phase
  //    of last_run (missed_run() tells whether to catch one up).
  //  - Calendar: the calendar's first match strictly after `after`, or nullopt
  //    when it never matches again (last_run is not used).
  std::optional<std::chrono::sys_seconds>
  next_after(std::chrono::sys_seconds after,
             std::optional<std::chrono::sys_seconds> last_run) const;

  // Persistent catch-up: true when `persistent` is set, the job ran before, and
  // a run fell due after last_run and at or before `now` (for Every: last_run +
  // every <= now; for Calendar: the first match after last_run is <= now).
  // The scheduler then runs once right away, however many runs were missed.
  bool missed_run(std::optional<std::chrono::sys_seconds> last_run,
                  std::chrono::sys_seconds now) const;

  bool operator==(const Schedule&) const = default;
};

} // namespace stasis::policy
