#include "manager/container_support.hpp"

#include "engine/engine_error.hpp"

#include <charconv>
#include <cstdlib>
#include <fstream>

#include <fmt/ranges.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// How much longer than CRIU's own limit a runtime command may take.
constexpr auto k_runtime_slack = 30s;

const char* network_lock_name(policy::NetworkLock lock) {
  switch (lock) {
  case policy::NetworkLock::Iptables:
    return "iptables";
  case policy::NetworkLock::Skip:
    return "skip";
  case policy::NetworkLock::Nftables:
    break;
  }
  return "nftables";
}

} // namespace

std::vector<std::string> set_policy_keys(const policy::Job& job) {
  const policy::CriuSettings c0;
  const policy::RestoreSettings r0;
  const auto& c = job.criu;
  const auto& r = job.restore;
  const std::vector<std::pair<const char*, bool>> keys = {
      {"criu.shell-job", c.shell_job != c0.shell_job},
      {"criu.file-locks", c.file_locks != c0.file_locks},
      {"criu.tcp-established", c.tcp_established != c0.tcp_established},
      {"criu.tcp-close", c.tcp_close != c0.tcp_close},
      {"criu.tcp-skip-in-flight", c.tcp_skip_in_flight != c0.tcp_skip_in_flight},
      {"criu.ext-unix-sk", c.ext_unix_sk != c0.ext_unix_sk},
      {"criu.external-unix-sockets", c.external_unix_sockets != c0.external_unix_sockets},
      {"criu.leave-stopped", c.leave_stopped != c0.leave_stopped},
      {"criu.external", c.external != c0.external},
      {"criu.empty-ns", c.empty_ns != c0.empty_ns},
      {"criu.manage-cgroups", c.manage_cgroups != c0.manage_cgroups},
      {"criu.cgroup-dump-controllers",
       c.cgroup_dump_controllers != c0.cgroup_dump_controllers},
      {"criu.cgroup-root", c.cgroup_root != c0.cgroup_root},
      {"criu.cgroup-props", c.cgroup_props != c0.cgroup_props},
      {"criu.cgroup-props-file", c.cgroup_props_file != c0.cgroup_props_file},
      {"criu.cgroup-yard", c.cgroup_yard != c0.cgroup_yard},
      {"criu.freeze-cgroup", c.freeze_cgroup != c0.freeze_cgroup},
      {"criu.veth-pairs", c.veth_pairs != c0.veth_pairs},
      {"criu.evasive-devices", c.evasive_devices != c0.evasive_devices},
      {"criu.force-irmap", c.force_irmap != c0.force_irmap},
      {"criu.irmap-scan-paths", c.irmap_scan_paths != c0.irmap_scan_paths},
      {"criu.link-remap", c.link_remap != c0.link_remap},
      {"criu.ghost-limit", c.ghost_limit != c0.ghost_limit},
      {"criu.ghost-fiemap", c.ghost_fiemap != c0.ghost_fiemap},
      {"criu.ext-mount-map", c.ext_mount_map != c0.ext_mount_map},
      {"criu.skip-mnt", c.skip_mnt != c0.skip_mnt},
      {"criu.enable-fs", c.enable_fs != c0.enable_fs},
      {"criu.cpu-cap", c.cpu_cap != c0.cpu_cap},
      {"criu.network-lock", c.network_lock != c0.network_lock},
      {"criu.page-server", c.page_server != c0.page_server},
      {"criu.lazy-pages", c.lazy_pages != c0.lazy_pages},
      {"criu.stream-pages", c.stream_pages != c0.stream_pages},
      {"criu.work-dir", c.work_dir != c0.work_dir},
      {"criu.plugins-dir", c.plugins_dir != c0.plugins_dir},
      {"criu.dump-as", c.dump_as != c0.dump_as},
      {"restore.sibling", r.sibling != r0.sibling},
      {"restore.pid-namespace", r.new_pid_namespace != r0.new_pid_namespace},
      {"restore.leave-stopped", r.leave_stopped != r0.leave_stopped},
      {"restore.tcp-close", r.tcp_close != r0.tcp_close},
      {"restore.manage-cgroups", r.manage_cgroups != r0.manage_cgroups},
      {"restore.root", r.root != r0.root},
      {"restore.cgroup-root", r.cgroup_root != r0.cgroup_root},
      {"restore.ext-mount-map", r.ext_mount_map != r0.ext_mount_map},
      {"restore.ext-mount-auto", r.ext_mount_auto != r0.ext_mount_auto},
      {"restore.enable-external-sharing",
       r.enable_external_sharing != r0.enable_external_sharing},
      {"restore.enable-external-masters",
       r.enable_external_masters != r0.enable_external_masters},
      {"restore.external", r.external != r0.external},
      {"restore.inherit-fd", r.inherit_fds != r0.inherit_fds},
      {"restore.join-ns", r.join_ns != r0.join_ns},
      {"restore.cpu-cap", r.cpu_cap != r0.cpu_cap},
      {"restore.lsm-profile", r.lsm_profile != r0.lsm_profile},
      {"restore.lsm-mount-context", r.lsm_mount_context != r0.lsm_mount_context},
      {"restore.mntns-compat-mode", r.mntns_compat_mode != r0.mntns_compat_mode},
      {"restore.orphan-pts-master", r.orphan_pts_master != r0.orphan_pts_master},
      {"restore.weak-sysctls", r.weak_sysctls != r0.weak_sysctls},
      {"restore.skip-file-rwx-check", r.skip_file_rwx_check != r0.skip_file_rwx_check},
      {"restore.file-validation", r.file_validation != r0.file_validation},
      {"incremental.mode",
       job.incremental.mode == policy::IncrementalSettings::Mode::CriuPreDump},
  };
  std::vector<std::string> set;
  for (const auto& [key, is_set] : keys) {
    if (is_set) {
      set.emplace_back(key);
    }
  }
  for (const auto& [point, commands] : job.hooks.commands) {
    if (!commands.empty() && point != policy::HookPoint::OnSuccess &&
        point != policy::HookPoint::OnFailure) {
      set.push_back(fmt::format("hooks.{}", policy::to_string(point)));
    }
  }
  return set;
}

Result<void> refuse_unsupported_keys(const policy::Job& job, std::string_view runtime,
                                     const std::set<std::string_view>& supported) {
  for (const auto& key : set_policy_keys(job)) {
    if (supported.count(key) != 0) {
      continue;
    }
    if (key.rfind("hooks.", 0) == 0) {
      return make_error("job '{}': {} runs CRIU itself, so stasis cannot run hooks at "
                        "CRIU's steps; remove {} (on-success and on-failure hooks work)",
                        job.name, runtime, key);
    }
    if (key == "incremental.mode") {
      return make_error("job '{}': incremental.mode criu-pre-dump is not available "
                        "for {} containers; use dedup or full",
                        job.name, runtime);
    }
    return make_error("job '{}': policy key {} cannot be used with a {} container ({} "
                      "has no way to pass it to CRIU); remove it from the job",
                      job.name, key, runtime, runtime);
  }
  return {};
}

const std::set<std::string_view>& criu_config_file_keys() {
  static const std::set<std::string_view> keys = {"criu.network-lock",
                                                  "criu.tcp-close",
                                                  "criu.tcp-skip-in-flight",
                                                  "criu.link-remap",
                                                  "criu.ghost-limit",
                                                  "criu.ghost-fiemap",
                                                  "criu.evasive-devices",
                                                  "criu.force-irmap",
                                                  "criu.irmap-scan-paths",
                                                  "criu.skip-mnt",
                                                  "criu.enable-fs",
                                                  "criu.cpu-cap",
                                                  "restore.cpu-cap",
                                                  "restore.weak-sysctls",
                                                  "restore.skip-file-rwx-check",
                                                  "restore.file-validation",
                                                  "restore.mntns-compat-mode"};
  return keys;
}

std::string criu_config_text(const policy::Job& job, bool restore) {
  const policy::CriuSettings c0;
  const policy::RestoreSettings r0;
  const auto& c = job.criu;
  const auto& r = job.restore;
  std::string text = "# Written by stasis for one run of job " + job.name + "\n";
  text += fmt::format("network-lock {}\n", network_lock_name(c.network_lock));
  auto flag = [&](bool on, const char* name) {
    if (on) {
      text += fmt::format("{}\n", name);
    }
  };
  flag(c.tcp_close, "tcp-close");
  flag(c.tcp_skip_in_flight, "skip-in-flight");
  flag(c.link_remap, "link-remap");
  flag(c.evasive_devices, "evasive-devices");
  flag(c.force_irmap, "force-irmap");
  if (c.ghost_limit != c0.ghost_limit) {
    text += fmt::format("ghost-limit {}\n", c.ghost_limit);
  }
  if (!c.ghost_fiemap) {
    text += "no-ghost-fiemap\n";
  }
  for (const auto& path : c.irmap_scan_paths) {
    text += fmt::format("irmap-scan-path {}\n", path);
  }
  for (const auto& path : c.skip_mnt) {
    text += fmt::format("skip-mnt {}\n", path);
  }
  for (const auto& fs_name : c.enable_fs) {
    text += fmt::format("enable-fs {}\n", fs_name);
  }
  if (!restore && c.cpu_cap != c0.cpu_cap) {
    text += fmt::format("cpu-cap {}\n", c.cpu_cap);
  }
  if (restore) {
    if (r.cpu_cap != r0.cpu_cap) {
      text += fmt::format("cpu-cap {}\n", fmt::join(r.cpu_cap, ","));
    }
    flag(r.weak_sysctls, "weak-sysctls");
    flag(r.skip_file_rwx_check, "skip-file-rwx-check");
    flag(r.mntns_compat_mode, "mntns-compat-mode");
    if (r.file_validation != r0.file_validation) {
      text += fmt::format("file-validation {}\n", r.file_validation);
    }
  }
  return text;
}

Result<std::map<std::string, std::string>>
criu_environment(const policy::Job& job, const ContainerRun& run, bool restore) {
  std::error_code error;
  const fs::path bin = run.work / "bin";
  fs::create_directories(bin, error);
  fs::remove(bin / "criu", error);
  fs::create_symlink(run.criu, bin / "criu", error);
  if (error) {
    return make_error("cannot link {} to {}: {}", (bin / "criu").string(),
                      run.criu.string(), error.message());
  }
  const fs::path config = run.work / "criu.conf";
  {
    std::ofstream out(config);
    out << criu_config_text(job, restore);
    if (!out) {
      return make_error("cannot write {}", config.string());
    }
  }
  const char* path = std::getenv("PATH");
  return std::map<std::string, std::string>{
      {"CRIU_CONFIG_FILE", config.string()},
      {"PATH",
       bin.string() + ":" + (path != nullptr ? path : "/usr/sbin:/usr/bin:/sbin:/bin")}};
}

Result<ContainerCommandResult> run_runtime_tool(std::vector<std::string> argv,
                                                std::map<std::string, std::string> env,
                                                const ContainerRun& run) {
  ContainerCommand command;
  command.argv = std::move(argv);
  command.env = std::move(env);
  command.timeout = run.control.timeout.count() > 0
                        ? run.control.timeout + k_runtime_slack
                        : std::chrono::milliseconds(std::chrono::hours(24));
  command.stop = run.control.stop;
  return run_container_command(command);
}

Result<ContainerCommandResult> query_runtime_tool(std::vector<std::string> argv) {
  ContainerCommand command;
  command.argv = std::move(argv);
  command.timeout = k_runtime_slack;
  return run_container_command(command);
}

std::string runtime_failure(std::string_view what, const ContainerCommandResult& result,
                            const fs::path& criu_log) {
  std::string message = fmt::format("{} failed: {}", what, result.describe());
  std::error_code error;
  if (!criu_log.empty() && fs::exists(criu_log, error)) {
    auto errors = engine::read_log_errors(criu_log);
    if (!errors.empty()) {
      message += fmt::format("; CRIU: {}", fmt::join(errors, "; "));
      if (auto hint = engine::hint_for(errors); !hint.empty()) {
        message += fmt::format(" ({})", hint);
      }
    }
    message += fmt::format(" (see {})", criu_log.string());
  }
  return message;
}

Result<pid_t> parse_runtime_pid(std::string_view text, std::string_view what) {
  auto first = text.find_first_not_of(" \t\r\n");
  auto last = text.find_last_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return make_error("{} printed no pid", what);
  }
  auto word = text.substr(first, last - first + 1);
  pid_t pid = 0;
  auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), pid);
  if (error != std::errc() || end != word.data() + word.size()) {
    return make_error("{} printed '{}', not a pid", what, word.substr(0, 80));
  }
  if (pid <= 0) {
    return make_error("{}: the container is not running", what);
  }
  return pid;
}

} // namespace stasis::manager
