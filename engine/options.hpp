// What a dump or restore should do: plain structs with CRIU's defaults,
// checked by validate() before any worker starts.
#pragma once

#include "util/result.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace stasis::engine {

// How CRIU treats the tree's cgroups (--manage-cgroups=MODE).
enum class CgroupMode { Ignore, None, Props, Soft, Full, Strict, Default };

// How the tree's network is locked while it is dumped. Nftables works
// without the iptables binary; Skip leaves the network alone (only safe
// without established TCP connections). The client asks CRIU to skip the
// lock when it would have no effect (the tree shares our network namespace
// and tcp_established is off); see network_lock.hpp.
enum class NetworkLock { Iptables, Nftables, Skip };

// Bits of CRIU's cpu_cap option (--cpu-cap).
namespace cpu_cap {
inline constexpr std::uint32_t none = 0;
inline constexpr std::uint32_t fpu = 1u << 0;
inline constexpr std::uint32_t cpu = 1u << 1;
inline constexpr std::uint32_t ins = 1u << 2;
inline constexpr std::uint32_t image = 1u << 3;
inline constexpr std::uint32_t all = fpu | cpu | ins;
} // namespace cpu_cap

// A new cgroup root, for one controller or (empty controller) all of them.
struct CgroupRoot {
  std::string controller;
  std::filesystem::path path;
};

// A veth pair: the device name inside the restored netns and outside of it.
struct VethPair {
  std::string inside;
  std::string outside;
};

// An external mount mapping: key (dump: mountpoint; restore: key) to value.
struct ExtMount {
  std::string key;
  std::string value;
};

// A namespace the restored tree joins: "net", "uts", "ipc", "time", "user" or
// "mnt"; target is a path (/proc/PID/ns/net) or a pid. For "user", extra may
// be "UID,GID".
struct JoinNamespace {
  std::string ns;
  std::string target;
  std::string extra;
};

// A descriptor of ours the restored tree gets in place of the resource CRIU
// knows as `key` (e.g. "pipe:[12345]" or "file[...]").
struct InheritFd {
  std::string key;
  int fd = -1;
};

// Where a dump sends its pages instead of the images dir (CRIU's page server
// options): a connected stream socket of ours (fd >= 0, inherited by the
// worker), or an address and port to connect to.
struct PageServerTarget {
  std::string address;
  std::uint16_t port = 0;
  int fd = -1;
};

// Options of a dump (and of a pre-dump, which ignores leave_running/stopped).
struct DumpOptions {
  pid_t pid = 0;                    // root of the tree to dump
  std::filesystem::path images_dir; // created when missing
  std::filesystem::path work_dir;   // logs and stats; empty = images_dir
  bool leave_running = false;       // let the tree run on after the dump
  bool shell_job = false;           // the tree is a job of a shell (session/pgid/tty)
  bool leave_stopped = false;       // leave the tree stopped (SIGSTOP) instead
  bool file_locks = false;
  bool tcp_established = false;
  bool tcp_close = false; // do not save (nor lock) established connections
  bool tcp_skip_in_flight = false;
  bool ext_unix_sk = false;                  // allow external unix sockets...
  std::vector<std::uint32_t> unix_sk_inodes; // ...optionally only these inodes
  std::vector<std::string> external;         // "mnt[/x]:key", "net[ino]:key", "dev[..]"
  bool evasive_devices = false;
  bool link_remap = false;
  std::optional<std::uint32_t> ghost_limit; // bytes of deleted files kept in images
  // False: --no-ghost-fiemap. CRIU's RPC has no field for it: it reaches CRIU
  // through a configuration file in the work dir (unset = CRIU's default).
  std::optional<bool> ghost_fiemap;
  bool force_irmap = false;
  std::vector<std::filesystem::path> irmap_scan_paths;
  bool manage_cgroups = false;
  std::optional<CgroupMode> manage_cgroups_mode; // implies manage_cgroups
  std::vector<CgroupRoot> cgroup_roots;
  std::string cgroup_props;
  std::filesystem::path cgroup_props_file;
  std::vector<std::string> cgroup_dump_controllers;
  std::string cgroup_yard;             // mounted cgroup hierarchies to use
  std::filesystem::path freeze_cgroup; // freeze through this cgroup instead of ptrace
  std::vector<ExtMount> ext_mount_map;
  bool auto_ext_mnt = false;
  bool ext_sharing = false;
  bool ext_masters = false;
  std::vector<std::filesystem::path> skip_mnt;
  std::vector<std::string> enable_fs;
  std::optional<std::uint32_t> cpu_cap; // cpu_cap::* bits; unset = CRIU default
  NetworkLock network_lock = NetworkLock::Nftables;
  std::chrono::seconds criu_timeout{0}; // CRIU's own collect/freeze timeout; 0 = default
  bool auto_dedup = false;
  std::filesystem::path parent_img; // parent images, relative to images_dir
  bool track_mem = false;           // needs soft-dirty tracking (Features::mem_track)
  std::optional<PageServerTarget> page_server; // stream pages instead of writing them
  bool unprivileged = false; // run as non-root with CAP_CHECKPOINT_RESTORE
  bool display_stats = false;
  bool skip_file_rwx_check = false;
  std::string log_file; // file name in work_dir; empty = "dump.log"
  int log_level = 2;    // 0 (none) .. 4 (debug)
};

// Options of a restore.
struct RestoreOptions {
  std::filesystem::path images_dir; // must hold a dump
  std::filesystem::path work_dir;   // logs and stats; empty = images_dir
  // true: the restored tree is reparented away from the worker (to init or
  // the nearest subreaper). false: it becomes a child of the calling process
  // (CRIU's rst_sibling), so the caller can wait for it.
  bool restore_detached = true;
  bool leave_stopped = false; // the restored tree stays stopped (SIGSTOP)
  bool shell_job = false;
  // The terminal a shell job is restored onto: a tty open for reading and
  // writing, given to the worker as its standard input. CRIU's --shell-job
  // opens the job's terminal (a pty slave whose master it did not dump) as a
  // copy of its own stdin; its inherit-fd keys reach only external ttys, not
  // this one. -1: the worker keeps stasisd's stdin.
  int terminal_fd = -1;
  bool file_locks = false;
  bool tcp_established = false;
  bool tcp_close = false; // restore established connections closed
  bool tcp_skip_in_flight = false;
  bool ext_unix_sk = false;
  std::vector<std::uint32_t> unix_sk_inodes;
  std::vector<std::string> external; // "mnt[key]:/path", "net[key]:...", "veth[..]"
  bool evasive_devices = false;
  bool link_remap = false;
  bool manage_cgroups = false;
  std::optional<CgroupMode> manage_cgroups_mode;
  std::vector<CgroupRoot> cgroup_roots;
  std::string cgroup_props;
  std::filesystem::path cgroup_props_file;
  std::string cgroup_yard;
  std::vector<ExtMount> ext_mount_map;
  bool auto_ext_mnt = false;
  bool ext_sharing = false;
  bool ext_masters = false;
  std::vector<std::filesystem::path> skip_mnt;
  std::vector<std::string> enable_fs;
  std::filesystem::path root; // restore into this root directory
  std::vector<VethPair> veths;
  std::vector<InheritFd> inherit_fds;
  std::vector<JoinNamespace> join_ns;
  std::uint32_t empty_ns = 0; // CLONE_NEW* flags to create empty; only CLONE_NEWNET
  std::optional<std::uint32_t> cpu_cap;
  NetworkLock network_lock = NetworkLock::Nftables; // must match the dump's
  std::chrono::seconds criu_timeout{0};
  bool auto_dedup = false;
  bool orphan_pts_master = false; // pass the pty master of an orphan pty via notify
  std::string lsm_profile;
  std::string lsm_mount_context;
  bool mntns_compat_mode = false;
  bool weak_sysctls = false;
  bool unprivileged = false;
  bool display_stats = false;
  bool skip_file_rwx_check = false;
  // Restore memory on demand (criu --lazy-pages): needs a LazyPagesDaemon
  // (engine/lazy_pages.hpp) started on the same images and work dir.
  bool lazy_pages = false;
  std::string log_file; // file name in work_dir; empty = "restore.log"
  int log_level = 2;
};

// Checks options before CRIU is started: required fields, conflicting
// options and values CRIU would reject. Every problem found is listed.
Result<void> validate(const DumpOptions& options);
Result<void> validate(const RestoreOptions& options);

// Returns the lower-case CRIU name of a cgroup mode ("soft", ...) and parses one.
const char* to_string(CgroupMode mode);
std::optional<CgroupMode> parse_cgroup_mode(std::string_view name);
const char* to_string(NetworkLock lock);

} // namespace stasis::engine
