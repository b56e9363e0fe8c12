#include "engine/options_wire.hpp"

namespace stasis::engine {
namespace {

template <typename Strings>
void add_strings(const Strings& from,
                 google::protobuf::RepeatedPtrField<std::string>* to) {
  for (const auto& item : from) {
    if constexpr (std::is_same_v<std::decay_t<decltype(item)>, std::filesystem::path>) {
      to->Add(item.string());
    } else {
      to->Add(std::string(item));
    }
  }
}

// Fields dump and restore share; T is DumpOptions or RestoreOptions.
template <typename T>
void common_to_wire(const T& o, std::string_view default_log, wire::Options& out) {
  out.set_log_file(o.log_file.empty() ? std::string(default_log) : o.log_file);
  out.set_log_level(o.log_level);
  if (o.shell_job) {
    out.set_shell_job(true);
  }
  if (o.file_locks) {
    out.set_file_locks(true);
  }
  if (o.tcp_established) {
    out.set_tcp_established(true);
  }
  if (o.tcp_close) {
    out.set_tcp_close(true);
  }
  if (o.tcp_skip_in_flight) {
    out.set_tcp_skip_in_flight(true);
  }
  if (o.ext_unix_sk) {
    out.set_ext_unix_sk(true);
  }
  for (auto inode : o.unix_sk_inodes) {
    out.add_unix_sk_ino()->set_inode(inode);
  }
  add_strings(o.external, out.mutable_external());
  if (o.evasive_devices) {
    out.set_evasive_devices(true);
  }
  if (o.link_remap) {
    out.set_link_remap(true);
  }
  if (o.manage_cgroups || o.manage_cgroups_mode) {
    out.set_manage_cgroups(true);
  }
  if (o.manage_cgroups_mode) {
    out.set_manage_cgroups_mode(to_wire(*o.manage_cgroups_mode));
  }
  for (const auto& root : o.cgroup_roots) {
    auto* entry = out.add_cg_root();
    if (!root.controller.empty()) {
      entry->set_ctrl(root.controller);
    }
    entry->set_path(root.path.string());
  }
  if (!o.cgroup_props.empty()) {
    out.set_cgroup_props(o.cgroup_props);
  }
  if (!o.cgroup_props_file.empty()) {
    out.set_cgroup_props_file(o.cgroup_props_file.string());
  }
  if (!o.cgroup_yard.empty()) {
    out.set_cgroup_yard(o.cgroup_yard);
  }
  for (const auto& map : o.ext_mount_map) {
    auto* entry = out.add_ext_mnt();
    entry->set_key(map.key);
    entry->set_value(map.value);
  }
  if (o.auto_ext_mnt) {
    out.set_auto_ext_mnt(true);
  }
  if (o.ext_sharing) {
    out.set_ext_sharing(true);
  }
  if (o.ext_masters) {
    out.set_ext_masters(true);
  }
  add_strings(o.skip_mnt, out.mutable_skip_mnt());
  add_strings(o.enable_fs, out.mutable_enable_fs());
  if (o.cpu_cap) {
    out.set_cpu_cap(*o.cpu_cap);
  }
  out.set_network_lock(to_wire(o.network_lock));
  if (o.criu_timeout.count() > 0) {
    out.set_timeout(static_cast<std::uint32_t>(o.criu_timeout.count()));
  }
  if (o.auto_dedup) {
    out.set_auto_dedup(true);
  }
  if (o.unprivileged) {
    out.set_unprivileged(true);
  }
  if (o.display_stats) {
    out.set_display_stats(true);
  }
  if (o.skip_file_rwx_check) {
    out.set_skip_file_rwx_check(true);
  }
}

} // namespace

wire::CgroupMode to_wire(CgroupMode mode) {
  switch (mode) {
  case CgroupMode::Ignore:
    return wire::CGM_IGNORE;
  case CgroupMode::None:
    return wire::CGM_NONE;
  case CgroupMode::Props:
    return wire::CGM_PROPS;
  case CgroupMode::Soft:
    return wire::CGM_SOFT;
  case CgroupMode::Full:
    return wire::CGM_FULL;
  case CgroupMode::Strict:
    return wire::CGM_STRICT;
  case CgroupMode::Default:
    return wire::CGM_DEFAULT;
  }
  return wire::CGM_DEFAULT;
}

wire::NetworkLockMethod to_wire(NetworkLock lock) {
  switch (lock) {
  case NetworkLock::Iptables:
    return wire::NETLOCK_IPTABLES;
  case NetworkLock::Nftables:
    return wire::NETLOCK_NFTABLES;
  case NetworkLock::Skip:
    return wire::NETLOCK_SKIP;
  }
  return wire::NETLOCK_NFTABLES;
}

void to_wire(const DumpOptions& o, std::string_view default_log, wire::Options& out) {
  common_to_wire(o, default_log, out);
  out.set_pid(o.pid);
  if (o.leave_running) {
    out.set_leave_running(true);
  }
  if (o.leave_stopped) {
    out.set_leave_stopped(true);
  }
  if (o.ghost_limit) {
    out.set_ghost_limit(*o.ghost_limit);
  }
  if (o.force_irmap) {
    out.set_force_irmap(true);
  }
  add_strings(o.irmap_scan_paths, out.mutable_irmap_scan_paths());
  add_strings(o.cgroup_dump_controllers, out.mutable_cgroup_dump_controller());
  if (!o.freeze_cgroup.empty()) {
    out.set_freeze_cgroup(o.freeze_cgroup.string());
  }
  if (!o.parent_img.empty()) {
    out.set_parent_img(o.parent_img.string());
  }
  if (o.track_mem) {
    out.set_track_mem(true);
  }
  if (o.page_server) {
    auto* ps = out.mutable_page_server();
    if (o.page_server->fd >= 0) {
      ps->set_fd(o.page_server->fd);
    } else {
      ps->set_address(o.page_server->address);
      ps->set_port(o.page_server->port);
    }
  }
}

void to_wire(const RestoreOptions& o, std::string_view default_log, wire::Options& out) {
  common_to_wire(o, default_log, out);
  if (!o.restore_detached) {
    out.set_rst_sibling(true);
  }
  if (o.leave_stopped) {
    out.set_leave_stopped(true);
  }
  if (!o.root.empty()) {
    out.set_root(o.root.string());
  }
  for (const auto& veth : o.veths) {
    auto* entry = out.add_veths();
    entry->set_inside(veth.inside);
    entry->set_outside(veth.outside);
  }
  for (const auto& inherit : o.inherit_fds) {
    auto* entry = out.add_inherit_fd();
    entry->set_key(inherit.key);
    entry->set_fd(inherit.fd);
  }
  for (const auto& join : o.join_ns) {
    auto* entry = out.add_join_ns();
    entry->set_ns(join.ns);
    entry->set_ns_file(join.target);
    if (!join.extra.empty()) {
      entry->set_extra_opt(join.extra);
    }
  }
  if (o.empty_ns != 0) {
    out.set_empty_ns(o.empty_ns);
  }
  if (o.orphan_pts_master) {
    out.set_orphan_pts_master(true);
  }
  if (!o.lsm_profile.empty()) {
    out.set_lsm_profile(o.lsm_profile);
  }
  if (!o.lsm_mount_context.empty()) {
    out.set_lsm_mount_context(o.lsm_mount_context);
  }
  if (o.mntns_compat_mode) {
    out.set_mntns_compat_mode(true);
  }
  if (o.weak_sysctls) {
    out.set_weak_sysctls(true);
  }
  if (o.lazy_pages) {
    out.set_lazy_pages(true);
  }
}

} // namespace stasis::engine
