// Command groups of stasisctl. Each group lives in its own cmd_*.cpp and
// registers its subcommands on the top-level app; the handler it installs
// stores the exit code in GlobalOptions::exit_code.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace stasis::cli {

// Options every command understands, and the exit code the chosen command sets.
// --json and --quiet may come before or after the subcommand (every
// subcommand passes the options it does not know on to the top level).
struct GlobalOptions {
  // --json: the command's result as one JSON document (stasisctl(1), JSON OUTPUT).
  bool json = false;
  // -q/--quiet: no progress and no informational lines; listings print only
  // their ids (or names). Errors still go to stderr; --json output is unchanged.
  bool quiet = false;
  int verbose = 0;
  // --bus: the bus of stasisd for daemon commands ("" = $STASIS_BUS_ADDRESS or system).
  std::string bus;
  int exit_code = 0;
  // The parsed command line, for hints that need the arguments (the job name
  // of a did-you-mean); null in code that builds GlobalOptions by hand.
  const CLI::App* app = nullptr;
};

// `stasisctl engine`: CRIU path, version and features.
void register_engine_commands(CLI::App& app, GlobalOptions& options);
// `stasisctl validate`, `stasisctl schema`.
void register_policy_commands(CLI::App& app, GlobalOptions& options);
// Offline store commands: checkpoints, show, verify, fsck, delete, pin, ...
void register_store_commands(CLI::App& app, GlobalOptions& options);
// Store maintenance and transfer: fsck, gc, export, import, du (cmd_store_admin.cpp).
void register_store_admin_commands(CLI::App& app, GlobalOptions& options);
// Daemon commands over D-Bus: jobs, status, checkpoint, restore, cancel,
// history, reload, engine-info, watch; and the global --bus option.
void register_daemon_commands(CLI::App& app, GlobalOptions& options);
// `stasisctl inspect`, `stasisctl diff` (cmd_inspect.cpp).
void register_inspect_commands(CLI::App& app, GlobalOptions& options);
// `stasisctl remote-checkpoints`: a registry's checkpoints, asked directly
// (push, pull and restore --from go through the daemon: cmd_daemon_runs.cpp).
void register_remote_commands(CLI::App& app, GlobalOptions& options);

} // namespace stasis::cli
