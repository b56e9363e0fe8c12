// validate(): problems CRIU would report late or obscurely, caught early.
#include "engine/options.hpp"

#include <algorithm>
#include <array>
#include <fcntl.h>
#include <sched.h>
#include <system_error>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::engine {
namespace {

namespace fs = std::filesystem;

class Problems {
public:
  template <typename... Args>
  void add(fmt::format_string<Args...> format, Args&&... args) {
    m_list.push_back(fmt::format(format, std::forward<Args>(args)...));
  }
  Result<void> result(std::string_view what) const {
    if (m_list.empty()) {
      return {};
    }
    std::string joined;
    for (const auto& problem : m_list) {
      joined += (joined.empty() ? "" : "; ") + problem;
    }
    return make_error("invalid {} options: {}", what, joined);
  }

private:
  std::vector<std::string> m_list;
};

bool is_dir(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool path_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// Checks shared by dump and restore; T is DumpOptions or RestoreOptions.
template <typename T>
void check_common(const T& o, Problems& problems) {
  if (o.images_dir.empty()) {
    problems.add("images_dir is not set");
  }
  if (o.log_level < 0 || o.log_level > 4) {
    problems.add("log_level {} is out of range (0 = none .. 4 = debug)", o.log_level);
  }
  if (o.log_file.find('/') != std::string::npos) {
    problems.add(
        "log_file \"{}\" must be a plain file name (it is created in the work dir)",
        o.log_file);
  }
  if (!o.work_dir.empty() && path_exists(o.work_dir) && !is_dir(o.work_dir)) {
    problems.add("work_dir {} is not a directory", o.work_dir.string());
  }
  if (o.network_lock == NetworkLock::Skip && o.tcp_established) {
    problems.add("tcp_established needs network locking; network_lock=skip would let "
                 "connections change while they are dumped");
  }
  if (!o.unix_sk_inodes.empty() && !o.ext_unix_sk) {
    problems.add("unix_sk_inodes is set but ext_unix_sk is off");
  }
  if (o.cpu_cap && (*o.cpu_cap & ~(cpu_cap::all | cpu_cap::image)) != 0) {
    problems.add("cpu_cap {:#x} has unknown bits (known: fpu, cpu, ins, image)",
                 *o.cpu_cap);
  }
  for (const auto& root : o.cgroup_roots) {
    if (root.path.empty() || !root.path.is_absolute()) {
      problems.add("cgroup root \"{}\"{} must be an absolute path", root.path.string(),
                   root.controller.empty() ? "" : " of controller " + root.controller);
    }
  }
  if (!o.cgroup_props_file.empty() && !path_exists(o.cgroup_props_file)) {
    problems.add("cgroup_props_file {} does not exist", o.cgroup_props_file.string());
  }
  for (const auto& entry : o.external) {
    const auto open = entry.find('[');
    if (open == 0 || open == std::string::npos ||
        entry.find(']', open) == std::string::npos) {
      problems.add("external \"{}\" is not of the form type[id]:value (e.g. "
                   "\"mnt[/data]:data\")",
                   entry);
    }
  }
  for (const auto& map : o.ext_mount_map) {
    if (map.key.empty() || map.value.empty()) {
      problems.add("ext_mount_map entries need both a key and a value");
    }
  }
  for (const auto& mnt : o.skip_mnt) {
    if (!mnt.is_absolute()) {
      problems.add("skip_mnt {} must be an absolute path", mnt.string());
    }
  }
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](char c) { return c >= '0' && c <= '9'; });
}

bool has_mount_namespace_images(const fs::path& images_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(images_dir, ec)) {
    if (entry.path().filename().string().starts_with("mountpoints-")) {
      return true;
    }
  }
  return false;
}

void check_restore_only(const RestoreOptions& o, Problems& problems) {
  if (!o.images_dir.empty()) {
    if (!path_exists(o.images_dir)) {
      problems.add("images dir {} does not exist", o.images_dir.string());
    } else if (!is_dir(o.images_dir)) {
      problems.add("images dir {} is not a directory", o.images_dir.string());
    } else if (!path_exists(o.images_dir / "inventory.img")) {
      problems.add("images dir {} holds no CRIU dump (inventory.img is missing)",
                   o.images_dir.string());
    }
  }
  if (o.tcp_close && o.tcp_established) {
    problems.add("tcp_close and tcp_established conflict: restore connections either "
                 "closed or established");
  }
  if (!o.root.empty() && !is_dir(o.root)) {
    problems.add("root {} is not a directory", o.root.string());
  }
  for (const auto& veth : o.veths) {
    if (veth.inside.empty() || veth.outside.empty()) {
      problems.add("veth pairs need both an inside and an outside name");
    }
  }
  if (o.terminal_fd >= 0 && !o.shell_job) {
    problems.add("a terminal is handed only to a shell job (shell_job)");
  }
  if (o.terminal_fd >= 0 && ::isatty(o.terminal_fd) == 0) {
    problems.add("terminal_fd {} is not a terminal", o.terminal_fd);
  }
  for (const auto& inherit : o.inherit_fds) {
    if (inherit.key.empty()) {
      problems.add("inherit_fd for fd {} has no key", inherit.fd);
    }
    if (inherit.fd < 0 || ::fcntl(inherit.fd, F_GETFD) < 0) {
      problems.add("inherit_fd \"{}\" names fd {}, which is not open", inherit.key,
                   inherit.fd);
    }
  }
  static constexpr std::array<std::string_view, 6> k_joinable = {"net",  "uts",  "ipc",
                                                                 "time", "user", "mnt"};
  for (const auto& join : o.join_ns) {
    if (std::find(k_joinable.begin(), k_joinable.end(), join.ns) == k_joinable.end()) {
      problems.add(
          "join_ns \"{}\" is not joinable (use net, uts, ipc, time, user or mnt)",
          join.ns);
    }
    if (all_digits(join.target) ? !path_exists(fs::path("/proc") / join.target)
                                : !path_exists(join.target)) {
      problems.add("join_ns {} target \"{}\" does not exist", join.ns, join.target);
    }
    if (!join.extra.empty() && join.ns != "user") {
      problems.add("join_ns {}: extra options are only valid for user namespaces",
                   join.ns);
    }
    if (join.ns == "net" && (o.empty_ns & CLONE_NEWNET) != 0) {
      problems.add("empty_ns=net and join_ns=net conflict");
    }
  }
  if ((o.empty_ns & ~static_cast<std::uint32_t>(CLONE_NEWNET)) != 0) {
    problems.add("empty_ns {:#x}: CRIU can only create an empty network namespace "
                 "(CLONE_NEWNET)",
                 o.empty_ns);
  }
  if (!o.lsm_profile.empty() && o.lsm_profile.find(':') == std::string::npos) {
    problems.add("lsm_profile \"{}\" must be TYPE:NAME (e.g. apparmor:my-profile)",
                 o.lsm_profile);
  }
  const bool maps_mounts =
      std::any_of(o.external.begin(), o.external.end(),
                  [](const auto& e) { return e.starts_with("mnt["); });
  if ((maps_mounts || !o.ext_mount_map.empty()) && o.root.empty() &&
      is_dir(o.images_dir) && has_mount_namespace_images(o.images_dir)) {
    problems.add("the dump has its own mount namespace and external mounts are mapped: "
                 "set root to the directory the tree's root filesystem is restored into");
  }
}

} // namespace

Result<void> validate(const DumpOptions& o) {
  Problems problems;
  if (o.pid <= 0) {
    problems.add("pid must be a positive process id (got {})", o.pid);
  } else if (o.pid == ::getpid()) {
    problems.add("pid {} is the calling process, which cannot dump itself", o.pid);
  }
  check_common(o, problems);
  if (!o.images_dir.empty() && path_exists(o.images_dir) && !is_dir(o.images_dir)) {
    problems.add("images dir {} is not a directory", o.images_dir.string());
  }
  if (o.leave_running && o.leave_stopped) {
    problems.add("leave_running and leave_stopped conflict: the tree either runs on or "
                 "stays stopped");
  }
  if (!o.parent_img.empty()) {
    if (o.parent_img.is_absolute()) {
      problems.add("parent_img {} must be relative to the images dir (e.g. ../previous)",
                   o.parent_img.string());
    } else if (!is_dir(o.images_dir / o.parent_img)) {
      problems.add("parent images {} do not exist",
                   (o.images_dir / o.parent_img).string());
    }
  }
  if (o.page_server && o.page_server->fd < 0 &&
      (o.page_server->address.empty() || o.page_server->port == 0)) {
    problems.add("page_server needs a connected socket (fd) or an address and a port");
  }
  if (!o.freeze_cgroup.empty() && !is_dir(o.freeze_cgroup)) {
    problems.add("freeze_cgroup {} is not a cgroup directory", o.freeze_cgroup.string());
  }
  for (const auto& path : o.irmap_scan_paths) {
    if (!path.is_absolute()) {
      problems.add("irmap_scan_paths entry {} must be absolute", path.string());
    }
  }
  return problems.result("dump");
}

Result<void> validate(const RestoreOptions& o) {
  Problems problems;
  check_common(o, problems);
  check_restore_only(o, problems);
  return problems.result("restore");
}

const char* to_string(CgroupMode mode) {
  switch (mode) {
  case CgroupMode::Ignore:
    return "ignore";
  case CgroupMode::None:
    return "none";
  case CgroupMode::Props:
    return "props";
  case CgroupMode::Soft:
    return "soft";
  case CgroupMode::Full:
    return "full";
  case CgroupMode::Strict:
    return "strict";
  case CgroupMode::Default:
    return "default";
  }
  return "default";
}

std::optional<CgroupMode> parse_cgroup_mode(std::string_view name) {
  for (auto mode :
       {CgroupMode::Ignore, CgroupMode::None, CgroupMode::Props, CgroupMode::Soft,
        CgroupMode::Full, CgroupMode::Strict, CgroupMode::Default}) {
    if (name == to_string(mode)) {
      return mode;
    }
  }
  return std::nullopt;
}

const char* to_string(NetworkLock lock) {
  switch (lock) {
  case NetworkLock::Iptables:
    return "iptables";
  case NetworkLock::Nftables:
    return "nftables";
  case NetworkLock::Skip:
    return "skip";
  }
  return "nftables";
}

} // namespace stasis::engine
