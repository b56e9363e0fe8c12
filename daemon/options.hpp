// stasisd's command line and config file (the same settings: each option
// --NAME is the key NAME of the file; the command line wins).
#pragma once

#include "manager/daemon_config.hpp"
#include "util/result.hpp"

#include <string>

#include <CLI/CLI.hpp>

namespace stasis::daemon {

// What stasisd was asked to do.
struct DaemonOptions {
  // "system", "session" or a D-Bus address.
  std::string bus = "system";
  manager::DaemonConfig config;
  // 0 = info, 1 = debug, 2+ = trace.
  int verbose = 0;
};

// Declares the options (and --config, default /etc/stasis/stasisd.conf, read
// when it exists) on app; they fill `options` when app parses.
void add_daemon_options(CLI::App& app, DaemonOptions& options);

// The limits on users other than root, for the log at start.
std::string describe_user_limits(const manager::DaemonConfig& config);

// After parsing: the config file app read (if any) must be owned by root and
// writable by nobody else, since it decides what stasisd runs as root and
// what it lets users do.
Result<void> check_config_file(const CLI::App& app);

} // namespace stasis::daemon
