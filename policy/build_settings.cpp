// CRIU, restore, schedule and hook settings from canonical JSON.
#include "policy/build.hpp"

#include <fmt/format.h>

namespace stasis::policy::detail {

using nlohmann::json;

namespace {

std::map<std::string, std::string> string_map(const json& object, const char* key) {
  return object.at(key).get<std::map<std::string, std::string>>();
}

bool flag(const json& object, const char* key) {
  return object.at(key).get<bool>();
}

CgroupMode cgroup_mode(const std::string& name) {
  if (name == "ignore") {
    return CgroupMode::Ignore;
  }
  if (name == "none") {
    return CgroupMode::None;
  }
  if (name == "props") {
    return CgroupMode::Props;
  }
  if (name == "full") {
    return CgroupMode::Full;
  }
  if (name == "strict") {
    return CgroupMode::Strict;
  }
  return CgroupMode::Soft;
}

InheritFd::Mode fd_mode(const std::string& name) {
  if (name == "read") {
    return InheritFd::Mode::Read;
  }
  if (name == "write") {
    return InheritFd::Mode::Write;
  }
  if (name == "append") {
    return InheritFd::Mode::Append;
  }
  return InheritFd::Mode::ReadWrite;
}

} // namespace

CriuSettings build_criu(const json& c, bool scheduled) {
  CriuSettings s;
  s.shell_job = flag(c, "shell-job");
  s.file_locks = flag(c, "file-locks");
  s.tcp_established = flag(c, "tcp-established");
  s.tcp_close = flag(c, "tcp-close");
  s.tcp_skip_in_flight = flag(c, "tcp-skip-in-flight");
  s.ext_unix_sk = flag(c, "ext-unix-sk");
  for (const auto& socket : c.at("external-unix-sockets")) {
    s.external_unix_sockets.push_back({socket.at("path").get<std::string>()});
  }
  s.leave_stopped = flag(c, "leave-stopped");
  s.leave_running = c.contains("leave-running") ? flag(c, "leave-running")
                                                : scheduled && !s.leave_stopped;
  s.external = strings(c, "external");
  s.empty_ns = strings(c, "empty-ns");
  s.manage_cgroups = cgroup_mode(c.at("manage-cgroups").get<std::string>());
  s.cgroup_dump_controllers = strings(c, "cgroup-dump-controllers");
  s.cgroup_root = strings(c, "cgroup-root");
  s.cgroup_props = text(c, "cgroup-props");
  s.cgroup_props_file = text(c, "cgroup-props-file");
  s.cgroup_yard = text(c, "cgroup-yard");
  s.freeze_cgroup = text(c, "freeze-cgroup");
  s.veth_pairs = string_map(c, "veth-pairs");
  s.evasive_devices = flag(c, "evasive-devices");
  s.force_irmap = flag(c, "force-irmap");
  s.irmap_scan_paths = strings(c, "irmap-scan-paths");
  s.link_remap = flag(c, "link-remap");
  s.ghost_limit = c.at("ghost-limit").get<std::uint64_t>();
  s.ghost_fiemap = flag(c, "ghost-fiemap");
  s.ext_mount_map = string_map(c, "ext-mount-map");
  s.skip_mnt = strings(c, "skip-mnt");
  s.enable_fs = strings(c, "enable-fs");
  s.cpu_cap = c.at("cpu-cap").get<std::string>();
  const std::string lock = c.at("network-lock").get<std::string>();
  s.network_lock = lock == "iptables" ? NetworkLock::Iptables
                   : lock == "skip"   ? NetworkLock::Skip
                                      : NetworkLock::Nftables;
  s.timeout = duration_of(c.at("timeout"));
  s.log_level = c.at("log-level").get<int>();
  if (c.contains("page-server")) {
    s.page_server = PageServer{c["page-server"].at("address").get<std::string>(),
                               c["page-server"].at("port").get<std::uint16_t>()};
  }
  s.lazy_pages = flag(c, "lazy-pages");
  s.stream_pages = flag(c, "stream-pages");
  s.work_dir = text(c, "work-dir");
  s.plugins_dir = text(c, "plugins-dir");
  const std::string dump_as = c.at("dump-as").get<std::string>();
  s.dump_as = dump_as == "root"          ? DumpAs::Root
              : dump_as == "target-user" ? DumpAs::TargetUser
                                         : DumpAs::Auto;
  return s;
}

RestoreSettings build_restore(const json& r) {
  RestoreSettings s;
  s.run_as = r.at("run-as").get<std::string>() == "root" ? RestoreSettings::RunAs::Root
                                                         : RestoreSettings::RunAs::Owner;
  s.detached = flag(r, "detached");
  s.sibling = flag(r, "sibling");
  s.replace_dead_container = flag(r, "replace-dead-container");
  s.new_pid_namespace = r.at("pid-namespace").get<std::string>() == "new";
  s.lazy = flag(r, "lazy");
  s.root = text(r, "root");
  s.pidfile = text(r, "pidfile");
  s.leave_stopped = flag(r, "leave-stopped");
  if (r.contains("tcp-close")) {
    s.tcp_close = flag(r, "tcp-close");
  }
  if (r.contains("manage-cgroups")) {
    s.manage_cgroups = cgroup_mode(r.at("manage-cgroups").get<std::string>());
  }
  s.cgroup_root = strings(r, "cgroup-root");
  s.ext_mount_map = string_map(r, "ext-mount-map");
  s.ext_mount_auto = flag(r, "ext-mount-auto");
  s.enable_external_sharing = flag(r, "enable-external-sharing");
  s.enable_external_masters = flag(r, "enable-external-masters");
  s.external = strings(r, "external");
  for (const auto& fd : r.at("inherit-fd")) {
    s.inherit_fds.push_back(InheritFd{fd.at("key").get<std::string>(),
                                      fd.at("path").get<std::string>(),
                                      fd_mode(fd.at("mode").get<std::string>())});
  }
  for (const auto& ns : r.at("join-ns")) {
    s.join_ns.push_back(JoinNamespace{ns.at("ns").get<std::string>(),
                                      ns.at("path").get<std::string>(),
                                      text(ns, "extra")});
  }
  s.cpu_cap = strings(r, "cpu-cap");
  s.lsm_profile = text(r, "lsm-profile");
  s.lsm_mount_context = text(r, "lsm-mount-context");
  s.mntns_compat_mode = flag(r, "mntns-compat-mode");
  s.orphan_pts_master = flag(r, "orphan-pts-master");
  s.weak_sysctls = flag(r, "weak-sysctls");
  s.skip_file_rwx_check = flag(r, "skip-file-rwx-check");
  s.file_validation = r.at("file-validation").get<std::string>();
  return s;
}

Schedule build_schedule(const json& schedule, JobContext& context) {
  Schedule s;
  if (schedule.contains("every")) {
    s.kind = Schedule::Kind::Every;
    s.every = duration_of(schedule["every"]);
  } else if (schedule.contains("calendar")) {
    auto calendar = CalendarSpec::parse(schedule["calendar"].get<std::string>());
    if (calendar) {
      s.kind = Schedule::Kind::Calendar;
      s.calendar = std::move(*calendar);
    } else {
      context.error("schedule.calendar", calendar.error().message);
    }
  }
  s.jitter = duration_of(schedule.at("jitter"));
  s.persistent = flag(schedule, "persistent");
  return s;
}

Hooks build_hooks(const json& hooks, JobContext& context) {
  Hooks result;
  for (const auto& item : hooks.items()) {
    const auto point = hook_point_from_string(item.key());
    if (!point || item.value().empty()) {
      continue;
    }
    auto& commands = result.commands[*point];
    for (std::size_t i = 0; i < item.value().size(); ++i) {
      const json& entry = item.value()[i];
      HookCommand command;
      command.argv = strings(entry, "run");
      command.timeout = duration_of(entry.at("timeout"));
      command.user = text(entry, "user");
      command.group = text(entry, "group");
      command.env = string_map(entry, "env");
      command.ignore_failure = flag(entry, "ignore-failure");
      command.source = context.where(fmt::format("hooks.{}[{}]", item.key(), i));
      commands.push_back(std::move(command));
    }
  }
  return result;
}

} // namespace stasis::policy::detail
