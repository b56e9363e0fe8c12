// stasisd's command line.
#pragma once

#include "manager/daemon_config.hpp"

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

// Declares the options on app; they fill `options` when app parses.
void add_daemon_options(CLI::App& app, DaemonOptions& options);

} // namespace stasis::daemon
