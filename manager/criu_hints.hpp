// From CRIU's complaint to the policy key that fixes it.
//
// When a dump or restore fails because the target needs a CRIU option the
// job's policy does not set (a terminal of a shell, file locks, established
// TCP connections, unix sockets to peers outside the tree), CRIU's log says
// so in its own words ("Consider using --shell-job option"). These functions
// turn that into a sentence naming the policy key to set.
#pragma once

#include "engine/engine_error.hpp"
#include "policy/model.hpp"

#include <string>
#include <vector>

namespace stasis::manager {

// What the job's policy already says, so that a hint never asks for a key
// the job has (and names the one that is in the way instead).
struct JobHintSettings {
  bool shell_job = false;         // criu.shell-job
  bool orphan_pts_master = false; // restore.orphan-pts-master
  bool tcp_established = false;   // criu.tcp-established
  bool tcp_close = false;         // criu.tcp-close
};

// The settings of a job's policy that hints look at.
JobHintSettings hint_settings(const policy::CriuSettings& criu,
                              const policy::RestoreSettings& restore);

// A sentence naming the policy key that the CRIU log errors ask for, e.g.
// "the process holds file locks: set `criu.file-locks: true` in the policy
// of job 'db'", or "" when no known complaint is among them. A complaint the
// job's settings already answer (e.g. connected sockets with criu.tcp-close)
// names no key.
std::string policy_hint(const std::vector<std::string>& log_errors,
                        const std::string& job, const JobHintSettings& settings = {});

// The message of a failed dump or restore of a job: the policy hint (when
// one applies) leads, followed by CRIU's own errors and the log to read.
std::string run_error_message(const engine::EngineError& error, const std::string& job,
                              const JobHintSettings& settings = {});

} // namespace stasis::manager
