#include "manager/criu_mapping.hpp"

#include <sched.h>

namespace stasis::manager {
namespace {

engine::CgroupMode to_engine(policy::CgroupMode mode) {
  switch (mode) {
  case policy::CgroupMode::Ignore:
    return engine::CgroupMode::Ignore;
  case policy::CgroupMode::None:
    return engine::CgroupMode::None;
  case policy::CgroupMode::Props:
    return engine::CgroupMode::Props;
  case policy::CgroupMode::Soft:
    return engine::CgroupMode::Soft;
  case policy::CgroupMode::Full:
    return engine::CgroupMode::Full;
  case policy::CgroupMode::Strict:
    return engine::CgroupMode::Strict;
  }
  return engine::CgroupMode::Soft;
}

engine::NetworkLock to_engine(policy::NetworkLock lock) {
  switch (lock) {
  case policy::NetworkLock::Nftables:
    return engine::NetworkLock::Nftables;
  case policy::NetworkLock::Iptables:
    return engine::NetworkLock::Iptables;
  case policy::NetworkLock::Skip:
    return engine::NetworkLock::Skip;
  }
  return engine::NetworkLock::Nftables;
}

// "[controller:]/path" of a restore cgroup root.
engine::CgroupRoot to_cgroup_root(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || (!text.empty() && text.front() == '/')) {
    return {"", text};
  }
  return {text.substr(0, colon), text.substr(colon + 1)};
}

// The settings a dump and its restore must agree on.
template <typename Options>
void apply_shared(const policy::CriuSettings& criu, Options& out) {
  out.shell_job = criu.shell_job;
  out.file_locks = criu.file_locks;
  out.tcp_established = criu.tcp_established;
  out.tcp_close = criu.tcp_close;
  out.tcp_skip_in_flight = criu.tcp_skip_in_flight;
  out.ext_unix_sk = criu.ext_unix_sk;
  out.evasive_devices = criu.evasive_devices;
  out.link_remap = criu.link_remap;
  // The default mode, soft, restores the dumped cgroups: a restored tree goes
  // back to its own cgroups, never into the daemon's.
  out.manage_cgroups = true;
  out.manage_cgroups_mode = to_engine(criu.manage_cgroups);
  out.cgroup_yard = criu.cgroup_yard;
  out.network_lock = to_engine(criu.network_lock);
  for (const auto& fs : criu.enable_fs) {
    out.enable_fs.push_back(fs);
  }
  for (const auto& path : criu.skip_mnt) {
    out.skip_mnt.emplace_back(path);
  }
  out.log_level = criu.log_level;
}

} // namespace

std::uint32_t to_cpu_cap(const std::string& name) {
  if (name == "none") {
    return engine::cpu_cap::none;
  }
  if (name == "cpu") {
    return engine::cpu_cap::cpu;
  }
  if (name == "ins") {
    return engine::cpu_cap::ins;
  }
  if (name == "all") {
    return engine::cpu_cap::all;
  }
  return engine::cpu_cap::fpu;
}

engine::DumpOptions to_dump_options(const policy::CriuSettings& criu) {
  engine::DumpOptions out;
  apply_shared(criu, out);
  out.leave_running = criu.leave_running;
  out.leave_stopped = criu.leave_stopped;
  out.external = criu.external;
  // external_unix_sockets name paths; CRIU wants the inodes of the tree's
  // sockets, which the checkpoint run finds (declare_external_unix).
  out.ghost_limit =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(criu.ghost_limit, UINT32_MAX));
  if (!criu.ghost_fiemap) {
    out.ghost_fiemap = false;
  }
  out.force_irmap = criu.force_irmap;
  for (const auto& path : criu.irmap_scan_paths) {
    out.irmap_scan_paths.emplace_back(path);
  }
  out.cgroup_dump_controllers = criu.cgroup_dump_controllers;
  for (const auto& root : criu.cgroup_root) {
    out.cgroup_roots.push_back(to_cgroup_root(root));
  }
  out.cgroup_props = criu.cgroup_props;
  if (!criu.cgroup_props_file.empty()) {
    out.cgroup_props_file = criu.cgroup_props_file;
  }
  if (!criu.freeze_cgroup.empty()) {
    out.freeze_cgroup = criu.freeze_cgroup;
  }
  for (const auto& [mountpoint, key] : criu.ext_mount_map) {
    out.ext_mount_map.push_back({mountpoint, key});
  }
  out.cpu_cap = to_cpu_cap(criu.cpu_cap);
  return out;
}

engine::RestoreOptions to_restore_options(const policy::CriuSettings& criu,
                                          const policy::RestoreSettings& restore) {
  engine::RestoreOptions out;
  apply_shared(criu, out);
  // The restore side's own values of options CRIU takes on both sides.
  out.tcp_close = restore.tcp_close.value_or(criu.tcp_close);
  if (out.tcp_close) {
    // Saved connections are shut down instead of being repaired.
    out.tcp_established = false;
  }
  if (restore.manage_cgroups) {
    out.manage_cgroups_mode = to_engine(*restore.manage_cgroups);
  }
  out.leave_stopped = restore.leave_stopped;
  for (const auto& [inside, outside] : criu.veth_pairs) {
    out.veths.push_back({inside, outside});
  }
  for (const auto& ns : criu.empty_ns) {
    if (ns == "net") {
      out.empty_ns |= CLONE_NEWNET;
    }
  }
  out.restore_detached = restore.detached;
  if (!restore.root.empty()) {
    out.root = restore.root;
  }
  for (const auto& root : restore.cgroup_root) {
    out.cgroup_roots.push_back(to_cgroup_root(root));
  }
  for (const auto& [key, path] : restore.ext_mount_map) {
    out.ext_mount_map.push_back({key, path});
  }
  out.auto_ext_mnt = restore.ext_mount_auto;
  out.ext_sharing = restore.enable_external_sharing;
  out.ext_masters = restore.enable_external_masters;
  out.external.insert(out.external.end(), restore.external.begin(),
                      restore.external.end());
  for (const auto& join : restore.join_ns) {
    out.join_ns.push_back({join.ns, join.path, join.extra});
  }
  std::uint32_t cap = 0;
  for (const auto& name : restore.cpu_cap) {
    cap |= to_cpu_cap(name);
  }
  out.cpu_cap = cap;
  out.lsm_profile = restore.lsm_profile;
  out.lsm_mount_context = restore.lsm_mount_context;
  out.mntns_compat_mode = restore.mntns_compat_mode;
  out.orphan_pts_master = restore.orphan_pts_master;
  out.weak_sysctls = restore.weak_sysctls;
  out.skip_file_rwx_check = restore.skip_file_rwx_check;
  return out;
}

} // namespace stasis::manager
