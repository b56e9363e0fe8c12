#include "daemon/options.hpp"

namespace stasis::daemon {

void add_daemon_options(CLI::App& app, DaemonOptions& options) {
  options.config.policy_dir = STASIS_DEFAULT_POLICY_DIR;
  options.config.state_dir = STASIS_DEFAULT_STATE_DIR;
  app.add_option("--bus", options.bus,
                 "Bus to serve on: system, session, or a D-Bus address "
                 "(unix:path=...)")
      ->capture_default_str();
  app.add_option("--policy-dir", options.config.policy_dir,
                 "Directory of job policies (*.yaml)")
      ->capture_default_str();
  app.add_option("--state-dir", options.config.state_dir,
                 "Directory of the checkpoint store and run history")
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--criu",
         [&options](const std::string& path) { options.config.criu_path = path; },
         "CRIU binary (default: $STASIS_CRIU, " STASIS_DEFAULT_CRIU ", then PATH)")
      ->type_name("PATH");
  app.add_option("--max-runs", options.config.max_concurrent_runs,
                 "How many checkpoint/restore runs may execute at once")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  app.add_flag("-v,--verbose", options.verbose, "More log output (repeatable)");
}

} // namespace stasis::daemon
