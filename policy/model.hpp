// The value types of a loaded policy: a PolicySet of Jobs with their targets,
// CRIU options, restore options, schedule, incremental mode, retention, hooks
// and access lists. Values are effective: file defaults and templates are
// already applied, and every option has its final value. The loader
// (loader.hpp) is the only producer; consumers get them by const reference.
#pragma once

#include "policy/retention.hpp"
#include "policy/schedule.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace stasis::policy {

// Where a job (or hook command) is defined; line and column are 1-based.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  bool operator==(const SourceLocation&) const = default;
};

// --- Targets: what to checkpoint -----------------------------------------

// A fixed process id (the root of the tree).
struct PidTarget {
  int pid = 0;
  bool operator==(const PidTarget&) const = default;
};
// A pid file read at run time.
struct PidFileTarget {
  std::string path;
  bool operator==(const PidFileTarget&) const = default;
};
// The single process tree root matching these patterns at run time. Empty
// patterns and user are unset (at least one pattern is set).
struct ProcessTarget {
  std::string exe;     // RE2 pattern over /proc/PID/exe
  std::string cmdline; // RE2 pattern over the arguments joined by spaces
  std::string user;    // user name or uid
  bool operator==(const ProcessTarget&) const = default;
};
// The processes of a cgroup (path below the cgroup mount, starting with '/').
struct CgroupTarget {
  std::string path;
  bool operator==(const CgroupTarget&) const = default;
};
// A systemd service or scope; its MainPID is the root.
struct SystemdUnitTarget {
  std::string unit;
  bool operator==(const SystemdUnitTarget&) const = default;
};
// A runc container; empty root/bundle mean runc's defaults.
struct RuncTarget {
  std::string id;
  std::string root;
  std::string bundle;
  bool operator==(const RuncTarget&) const = default;
};
// An LXC container; empty lxcpath/rcfile mean LXC's defaults.
struct LxcTarget {
  std::string name;
  std::string lxcpath;
  std::string rcfile;
  bool operator==(const LxcTarget&) const = default;
};
// A podman container by name or id.
struct PodmanTarget {
  std::string container;
  bool operator==(const PodmanTarget&) const = default;
};

using Target = std::variant<PidTarget, PidFileTarget, ProcessTarget, CgroupTarget,
                            SystemdUnitTarget, RuncTarget, LxcTarget, PodmanTarget>;

// Returns the policy key of a target kind: "pid", "systemd-unit", "runc", ...
std::string_view target_kind(const Target& target);
// Describes a target for people: "runc container web (root /run/runc)".
std::string describe(const Target& target);
// True for container targets (runc, lxc, podman): trees with their own mount
// namespace.
bool is_container(const Target& target);

// Describes a schedule: "on demand", "every 15m (jitter 1m)",
// "calendar *-*-* 02:00:00 (persistent)".
std::string describe(const Schedule& schedule);
// Describes retention rules: "keep-last 5, keep-daily 7" or "keep everything".
std::string describe(const RetentionRules& rules);

// --- CRIU options ---------------------------------------------------------

enum class CgroupMode { Ignore, None, Props, Soft, Full, Strict };
enum class NetworkLock { Nftables, Iptables, Skip };

// Whose rights CRIU dumps a policy job's process of another user with
// (criu.dump-as): Root = CRIU as root with stasisd's rights; TargetUser = a
// worker with the target's uid, CAP_CHECKPOINT_RESTORE and CAP_SYS_PTRACE;
// Auto = root where root CRIU can dump another uid's process, else the
// target's uid (manager/dump_worker.hpp holds the rule).
enum class DumpAs { Auto, Root, TargetUser };

// A stream unix connection to a socket outside the tree, replaced on restore.
struct ExternalUnixSocket {
  std::string path;
  bool operator==(const ExternalUnixSocket&) const = default;
};

// A CRIU page server (criu --page-server --address --port).
struct PageServer {
  std::string address;
  std::uint16_t port = 0;
  bool operator==(const PageServer&) const = default;
};

// Options for checkpoints, and those CRIU needs on both dump and restore
// (shell_job, file_locks, tcp_established, tcp_close, ext_unix_sk,
// manage_cgroups, cgroup_yard, network_lock, veth_pairs, log_level): the
// restore uses the values of the same job unless RestoreSettings overrides
// them (tcp_close, manage_cgroups).
struct CriuSettings {
  bool shell_job = false;
  bool file_locks = false;
  bool tcp_established = false;
  bool tcp_close = false;
  bool tcp_skip_in_flight = false;
  bool ext_unix_sk = false;
  std::vector<ExternalUnixSocket> external_unix_sockets;
  bool leave_running = false; // effective: default true when scheduled
  bool leave_stopped = false;
  std::vector<std::string> external; // CRIU --external forms
  std::vector<std::string> empty_ns; // "net"
  CgroupMode manage_cgroups = CgroupMode::Soft;
  std::vector<std::string> cgroup_dump_controllers;
  std::vector<std::string> cgroup_root;          // dump: "[controller:]/path"
  std::string cgroup_props;                      // dump: empty: unset
  std::string cgroup_props_file;                 // dump: empty: unset
  std::string cgroup_yard;                       // empty: unset
  std::string freeze_cgroup;                     // empty: unset
  std::map<std::string, std::string> veth_pairs; // inside -> outside
  bool evasive_devices = false;
  bool force_irmap = false;
  std::vector<std::string> irmap_scan_paths;
  bool link_remap = false;
  std::uint64_t ghost_limit = 1 << 20;
  bool ghost_fiemap = true; // save a sparse ghost file's extents (fiemap)
  std::map<std::string, std::string> ext_mount_map; // mount point -> key
  std::vector<std::string> skip_mnt;
  std::vector<std::string> enable_fs;
  std::string cpu_cap = "fpu"; // none, fpu, cpu, ins, all
  NetworkLock network_lock = NetworkLock::Nftables;
  std::chrono::milliseconds timeout{10000};
  int log_level = 4;
  std::optional<PageServer> page_server;
  bool lazy_pages = false;
  bool stream_pages = false; // pages go into the store over the page-server protocol
  std::string work_dir;      // empty: the run's directory
  std::string plugins_dir;   // empty: CRIU's default
  DumpAs dump_as = DumpAs::Auto;
  bool operator==(const CriuSettings&) const = default;
};

// A file stasis opens and passes for a resource named in the image.
struct InheritFd {
  enum class Mode { Read, Write, ReadWrite, Append };
  std::string key; // pipe:[INODE], socket:[INODE], tty:[RDEV:DEV] or a path
  std::string path;
  Mode mode = Mode::ReadWrite;
  bool operator==(const InheritFd&) const = default;
};

// An existing namespace to restore into (criu --join-ns).
struct JoinNamespace {
  std::string ns; // net, ipc, uts, time, user, mnt, cgroup
  std::string path;
  std::string extra;
  bool operator==(const JoinNamespace&) const = default;
};

// Restore-only options, and restore-side values of options CRIU takes on both
// sides (unset optionals: the value of CriuSettings). Empty strings are unset.
struct RestoreSettings {
  // With whose rights CRIU restores the tree: Owner = the one user the tree
  // runs as (CRIU runs as that uid with only CAP_CHECKPOINT_RESTORE), Root =
  // as root (root's explicit opt-in, for trees of several users or holding
  // capabilities). A tree that runs as root is restored as root either way.
  enum class RunAs { Owner, Root };
  RunAs run_as = RunAs::Owner;
  bool detached = true;
  // Container jobs: remove a dead container of the same name before the
  // restore (never a running one).
  bool replace_dead_container = false;
  bool sibling = false;
  bool new_pid_namespace = false; // restore inside a fresh PID namespace
  bool lazy = false;              // memory on demand from the store (lazy pages)
  std::string root;
  std::string pidfile;
  bool leave_stopped = false;               // the restored tree stays stopped (SIGSTOP)
  std::optional<bool> tcp_close;            // unset: criu.tcp-close
  std::optional<CgroupMode> manage_cgroups; // unset: criu.manage-cgroups
  std::vector<std::string> cgroup_root;     // "[controller:]/path"
  std::map<std::string, std::string> ext_mount_map; // image key -> host path
  bool ext_mount_auto = false;
  bool enable_external_sharing = false;
  bool enable_external_masters = false;
  std::vector<std::string> external;
  std::vector<InheritFd> inherit_fds;
  std::vector<JoinNamespace> join_ns;
  std::vector<std::string> cpu_cap{"fpu"};
  std::string lsm_profile;
  std::string lsm_mount_context;
  bool mntns_compat_mode = false;
  bool orphan_pts_master = false;
  bool weak_sysctls = false;
  bool skip_file_rwx_check = false;
  std::string file_validation = "buildid"; // filesize or buildid
  bool operator==(const RestoreSettings&) const = default;
};

// How successive checkpoints of a job share data.
struct IncrementalSettings {
  enum class Mode { Dedup, CriuPreDump, Full };
  enum class PreDumpMode { Splice, Read };
  Mode mode = Mode::Dedup;
  unsigned new_chain_every = 10;
  PreDumpMode pre_dump_mode = PreDumpMode::Splice;
  bool operator==(const IncrementalSettings&) const = default;
};

// --- Replication ----------------------------------------------------------

// Copies of the job's checkpoints in an OCI registry (docs/registry-format.md),
// pushed after each local commit, never while the target is frozen.
struct ReplicateSettings {
  std::string to;           // HOST[:PORT]/REPOSITORY; "" = no replication
  unsigned every = 1;       // push every Nth checkpoint of the job
  bool on_demand = true;    // also push checkpoints not taken by the schedule
  RetentionRules retention; // which remote copies this host keeps
  std::string credentials;  // containers-auth.json(5) file; "" = none
  std::string ca_file;      // extra trusted CAs (PEM); "" = system store only
  bool plain_http = false;  // http:// (loopback registries, tests)
  std::string origin;       // the tag's host part; "" = this host's name
  unsigned retry_attempts = 5;
  std::chrono::milliseconds retry_delay{30000}; // doubled after each failure
  // podman jobs: also push podman's own checkpoint image (TAG.podman);
  // nullopt = yes for podman targets.
  std::optional<bool> podman_image;
  bool enabled() const { return !to.empty(); }
  bool operator==(const ReplicateSettings&) const = default;
};

// --- Hooks and access -----------------------------------------------------

// Where a hook runs: CRIU's action-script actions, then the run outcome.
enum class HookPoint {
  PreDump,
  NetworkLock,
  PostDump,
  NetworkUnlock,
  PreRestore,
  SetupNamespaces,
  PostSetupNamespaces,
  PostRestore,
  PreResume,
  PostResume,
  OnSuccess,
  OnFailure
};
inline constexpr std::size_t k_hook_point_count = 12;

// Returns the policy key of a hook point ("pre-dump") and back.
std::string_view to_string(HookPoint point);
std::optional<HookPoint> hook_point_from_string(std::string_view name);

// One command run at a hook point, without a shell.
struct HookCommand {
  std::vector<std::string> argv; // argv[0] is an absolute path
  std::chrono::milliseconds timeout{60000};
  std::string user;  // empty: root
  std::string group; // empty: the user's primary group
  std::map<std::string, std::string> env;
  bool ignore_failure = false;
  SourceLocation source;
  bool operator==(const HookCommand&) const = default;
};

// The commands of every hook point, in order.
struct Hooks {
  std::map<HookPoint, std::vector<HookCommand>> commands;
  // Returns the commands of a point (empty when none).
  const std::vector<HookCommand>& at(HookPoint point) const;
  bool empty() const { return commands.empty(); }
  bool operator==(const Hooks&) const = default;
};

// Users and groups (names or numeric ids) allowed one action.
struct Principals {
  std::vector<std::string> users;
  std::vector<std::string> groups;
  bool operator==(const Principals&) const = default;
};

// Who besides root may act on a job over D-Bus.
struct Access {
  enum class Action { List, Checkpoint, Restore, Delete, Export };
  // export: may take a checkpoint's images off the daemon (push to a
  // registry, export to a file). Restoring runs a tree with its own rights;
  // its images hold its memory and files, which a restore never hands the
  // caller, so nobody gets them without root's explicit grant.
  Principals list, checkpoint, restore, remove, exporting;
  // True when a caller with this user name/uid and these groups (names or
  // gids) may do `action`. Root (uid 0) always may; anyone allowed any action
  // may also list.
  bool permits(Action action, std::string_view user, std::string_view uid,
               const std::vector<std::string>& groups) const;
  bool operator==(const Access&) const = default;
};

// --- Jobs -----------------------------------------------------------------

// One checkpoint job with its effective settings.
struct Job {
  std::string name;
  std::string description;
  bool enabled = true;
  std::vector<std::string> templates; // applied templates, in order
  // Names the job had before (`formerly`): the checkpoints stored under them
  // are this job's too (listed, restored and pruned with its access and
  // retention).
  std::vector<std::string> formerly;
  Target target;
  CriuSettings criu;
  RestoreSettings restore;
  Schedule schedule;
  IncrementalSettings incremental;
  RetentionRules retention;
  ReplicateSettings replicate;
  Hooks hooks;
  Access access;
  SourceLocation source;   // the job's entry in its file
  std::string fingerprint; // SHA-256 hex of the effective settings
};

// All jobs of a policy directory (or set of files), sorted by name.
class PolicySet {
public:
  PolicySet() = default;
  PolicySet(std::vector<Job> jobs, std::vector<std::string> files);

  const std::vector<Job>& jobs() const { return m_jobs; }
  // The files that were read, in load order.
  const std::vector<std::string>& files() const { return m_files; }
  // Returns the job called `name`, or nullptr.
  const Job* find(std::string_view name) const;

private:
  std::vector<Job> m_jobs;
  std::vector<std::string> m_files;
};

} // namespace stasis::policy
