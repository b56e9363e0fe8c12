// Turns a policy Schedule into the scheduler's ScheduledJob.
#pragma once

#include "manager/scheduler.hpp"
#include "policy/schedule.hpp"

#include <optional>
#include <string>

namespace stasis::manager {

// The scheduled form of a job, or nothing for on-demand schedules. fingerprint
// should change whenever the schedule does (e.g. the policy's fingerprint).
std::optional<ScheduledJob> to_scheduled_job(const std::string& name,
                                             const std::string& fingerprint,
                                             const policy::Schedule& schedule);

} // namespace stasis::manager
