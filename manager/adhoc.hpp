// Ad-hoc jobs: CheckpointProcess puts a caller's own process into the job
// "user-<uid>". Job names with this prefix are reserved for them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <sys/types.h>

namespace stasis::manager {

// The prefix of ad-hoc job names; policies may not use it (the loader refuses
// it: policy::k_reserved_job_prefix).
inline constexpr const char* k_adhoc_job_prefix = "user-";

// How many runs of one ad-hoc job the run history keeps (the newest).
inline constexpr std::size_t k_max_history_runs_per_adhoc_job = 200;

// The uid of an ad-hoc job's name ("user-1000" -> 1000), if it is one.
std::optional<uid_t> adhoc_uid(const std::string& job);

} // namespace stasis::manager
