#include "daemon/options.hpp"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace stasis::daemon {
namespace {

// Most runs one user may queue, and most checkpoints one user's ad-hoc job
// may keep, that the settings accept.
constexpr unsigned k_max_queued_setting = 1000;
constexpr unsigned k_max_checkpoints_setting = 1000;

std::string option(const char* setting) {
  return std::string("--") + setting;
}

} // namespace

void add_daemon_options(CLI::App& app, DaemonOptions& options) {
  auto& config = options.config;
  config.policy_dir = STASIS_DEFAULT_POLICY_DIR;
  config.state_dir = STASIS_DEFAULT_STATE_DIR;
  app.set_config("--config", manager::k_default_config_file,
                 "Config file of settings NAME = VALUE (the options below, without "
                 "--); read when it exists, the command line wins");
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.add_option("--bus", options.bus,
                 "Bus to serve on: system, session, or a D-Bus address "
                 "(unix:path=...)")
      ->capture_default_str();
  app.add_option("--policy-dir", config.policy_dir, "Directory of job policies (*.yaml)")
      ->capture_default_str();
  app.add_option("--state-dir", config.state_dir,
                 "Directory of the checkpoint store and run history")
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--criu", [&config](const std::string& path) { config.criu_path = path; },
         "CRIU binary (default: $STASIS_CRIU, " STASIS_DEFAULT_CRIU ", then PATH)")
      ->type_name("PATH");
  app.add_option("--max-runs", config.max_concurrent_runs,
                 "How many checkpoint/restore runs may execute at once")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  app.add_option(option(manager::k_setting_adhoc), config.adhoc_checkpoints,
                 "Whether users other than root may checkpoint their own processes "
                 "(CheckpointProcess)")
      ->type_name("BOOL")
      ->capture_default_str();
  app.add_option(option(manager::k_setting_max_queued), config.max_queued_runs_per_user,
                 "How many runs one user other than root may have queued")
      ->check(CLI::Range(1u, k_max_queued_setting))
      ->capture_default_str();
  app.add_option(option(manager::k_setting_max_checkpoints),
                 config.max_checkpoints_per_user,
                 "How many checkpoints a user's ad-hoc job keeps (and the user may pin)")
      ->check(CLI::Range(1u, k_max_checkpoints_setting))
      ->capture_default_str();
  app.add_option(option(manager::k_setting_max_stored), config.max_stored_bytes_per_user,
                 "How many bytes a user's ad-hoc checkpoints may take in the store "
                 "(0 = no limit)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app.add_option_function<std::string>(
         option(manager::k_setting_orphan_retention),
         [&config](const std::string& text) {
           if (auto rules = manager::parse_orphan_retention(text)) {
             config.orphan_retention = *rules;
           }
         },
         "Which checkpoints of jobs no policy names any more (orphans) stasisd keeps, "
         "applied at start and after each reload: keep-all (the default: never "
         "deleted unasked), keep-last:N or keep-within:DURATION (e.g. keep-within:30d)")
      ->type_name("RULE")
      ->check([](const std::string& text) {
        auto rules = manager::parse_orphan_retention(text);
        return rules ? std::string() : rules.error().message;
      });
  app.add_option_function<std::string>(
         option(manager::k_setting_metrics_file),
         [&config](const std::string& path) { config.metrics_file = path; },
         "File to keep the metrics in (Prometheus text format, for node_exporter's "
         "textfile collector: name it *.prom in its directory); rewritten atomically "
         "after every run")
      ->type_name("PATH")
      ->check([](const std::string& path) {
        return !path.empty() && path.front() == '/'
                   ? std::string()
                   : std::string("must be an absolute path");
      });
  app.add_flag("-v,--verbose", options.verbose, "More log output (repeatable)");
}

std::string describe_user_limits(const manager::DaemonConfig& config) {
  return fmt::format(
      "users other than root: ad-hoc checkpoints {}, at most {} queued runs, {} kept "
      "checkpoints, {} stored bytes each",
      config.adhoc_checkpoints ? "on" : "off", config.max_queued_runs_per_user,
      config.max_checkpoints_per_user,
      config.max_stored_bytes_per_user == 0
          ? std::string("unlimited")
          : std::to_string(config.max_stored_bytes_per_user));
}

Result<void> check_config_file(const CLI::App& app) {
  const CLI::Option* config = app.get_config_ptr();
  if (config == nullptr || config->count() == 0) {
    return ok(); // no file given, and the default one does not exist
  }
  const auto file = config->as<std::string>();
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return make_error("cannot stat the config file {}: {}", file, std::strerror(errno));
  }
  if (st.st_uid != 0) {
    return make_error(
        "the config file {} is owned by uid {}, not root (fix: chown root {})", file,
        st.st_uid, file);
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return make_error("the config file {} is writable by group or others (mode {:o}; "
                      "fix: chmod go-w {})",
                      file, st.st_mode & 07777, file);
  }
  return ok();
}

} // namespace stasis::daemon
