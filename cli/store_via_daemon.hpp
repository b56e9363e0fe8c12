// The store commands (checkpoints, show, delete, pin, unpin, prune, verify)
// through stasisd: used when no --state-dir is given, so that the daemon's
// access checks apply and non-root users see their own jobs' checkpoints.
// With --state-dir the commands open the store directly (root, offline).
#pragma once

#include "cli/commands.hpp"

#include <string>

namespace stasis::cli::via_daemon {

void list_checkpoints(GlobalOptions& options, const std::string& job);
void show_checkpoint(GlobalOptions& options, const std::string& job,
                     const std::string& id);
void delete_checkpoint(GlobalOptions& options, const std::string& job,
                       const std::string& id);
void pin_checkpoint(GlobalOptions& options, const std::string& job, const std::string& id,
                    bool pin);
// Applies the job's own retention rules (overrides need --state-dir).
void prune(GlobalOptions& options, const std::string& job, bool dry_run);
// An empty id verifies every checkpoint of the job.
void verify(GlobalOptions& options, const std::string& job, const std::string& id);

} // namespace stasis::cli::via_daemon
