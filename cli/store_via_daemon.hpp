// The store commands (checkpoints, show, delete, pin, unpin, prune, verify,
// du, export, import, fsck, gc) through stasisd: used when no --state-dir is given, so
// that the daemon's access checks apply and non-root users see their own jobs'
// checkpoints. With --state-dir the commands open the store directly (root, offline).
#pragma once

#include "cli/commands.hpp"

#include <string>

namespace stasis::cli::via_daemon {

void list_checkpoints(GlobalOptions& options, const std::string& job);
// `checkpoints --all`: every job's, with a JOB column and orphans marked.
void list_all_checkpoints(GlobalOptions& options);
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
// The jobs the caller may list (root: the whole store, with totals).
void disk_usage(GlobalOptions& options);
// Streams the checkpoint into file, which stasisctl creates with the
// caller's rights (a temp file renamed into place once complete; "-" is
// standard output); stasisd writes into the descriptor it is sent.
void export_file(GlobalOptions& options, const std::string& job, const std::string& id,
                 const std::string& file);
// Sends file (opened with the caller's rights; "-" is standard input) to be
// stored as the next checkpoint of job.
void import_file(GlobalOptions& options, const std::string& file, const std::string& job);
// Root's whole-store maintenance.
void fsck(GlobalOptions& options, bool verify_data);
void gc(GlobalOptions& options);

} // namespace stasis::cli::via_daemon
