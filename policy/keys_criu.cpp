// Keys of the `criu` section (checkpoint time, and options CRIU needs on both
// dump and restore) and of the `restore` section (restore time only, and the
// restore-side values of options CRIU takes on both sides).
#include "policy/keys.hpp"

namespace stasis::policy {

namespace {

using nlohmann::json;

KeySpec key(std::string name, ValuePtr value, json default_value, std::string doc,
            std::string origin) {
  return KeySpec{
      std::move(name), std::move(value), std::move(default_value), std::move(doc),
      false,           std::move(origin)};
}

ValuePtr mount_map() {
  return spec::map(spec::string());
}

} // namespace

std::vector<KeySpec> criu_keys() {
  using namespace spec;
  auto page_server = section({
      KeySpec{"address", string(), nullptr, "Page server host name or IP address.", true,
              "criu --address"},
      KeySpec{"port", integer(1, 65535), nullptr, "Page server TCP port.", true,
              "criu --port"},
  });
  auto unix_socket = section({
      KeySpec{"path", path(), nullptr,
              "Path of the listening socket the job's stream connection goes to. On "
              "checkpoint stasis declares every connection of the job to this path "
              "external (criu --external unix[INODE]); on restore it connects a fresh "
              "stream socket to the path and hands it over with --inherit-fd.",
              true, "criu --external unix[ino] + --inherit-fd fd[N]:socket:[ino]"},
  });
  return {
      key("shell-job", boolean(), false,
          "The job runs in a terminal session it does not lead (started from a shell): "
          "dump it without its session leader and pty master, restore it into a new "
          "session. Applies to checkpoint and restore.",
          "criu -j/--shell-job; runc --shell-job"),
      key("file-locks", boolean(), false,
          "Checkpoint and restore flock/POSIX file locks. Safe only when every user of "
          "the locks is inside the checkpointed tree.",
          "criu -l/--file-locks; runc --file-locks"),
      key("tcp-established", boolean(), false,
          "Checkpoint and restore established TCP connections (the network is locked "
          "between dump and restore).",
          "criu --tcp-established; runc --tcp-established"),
      key("tcp-close", boolean(), false,
          "Do not save established TCP connections (and do not lock them): the "
          "checkpoint works with connected sockets, and they are restored closed "
          "(CRIU needs --tcp-close on both sides). Excludes tcp-established; to save "
          "connections but restore them closed, use restore.tcp-close instead.",
          "criu --tcp-close (dump)"),
      key("tcp-skip-in-flight", boolean(), false,
          "Skip half-open (not yet accepted) TCP connections instead of failing "
          "(checkpoint only).",
          "criu --skip-in-flight"),
      key("ext-unix-sk", boolean(), false,
          "Allow unix sockets whose peer is outside the checkpointed tree.",
          "criu -x/--ext-unix-sk; runc --ext-unix-sk"),
      key("external-unix-sockets", list(unix_socket), json::array(),
          "Stream unix connections to a socket outside the tree (for example the D-Bus "
          "system bus): declared external on checkpoint and replaced by a fresh "
          "connection on restore.",
          "criu --external unix[ino]; --inherit-fd"),
      key("leave-running", boolean(), nullptr,
          "Keep the tree running after the checkpoint. Default: true for scheduled jobs, "
          "false for on-demand jobs (the tree is killed after the dump, as criu does).",
          "criu -R/--leave-running; runc --leave-running; lxc-checkpoint without -s"),
      key("leave-stopped", boolean(), false,
          "Leave the tree stopped (SIGSTOP) after the checkpoint. Excludes "
          "leave-running.",
          "criu -s/--leave-stopped"),
      key("external",
          list(string("^(mnt|dev|veth|macvlan|net|pid|ipc|uts|time|unix|tty|"
                      "file|cgroup)\\[[^\\]]*\\](:.*)?$",
                      "a CRIU external resource such as mnt[/data]:data, "
                      "net[4026531992]:extnet, tty[8800:3]")),
          json::array(),
          "Resources outside the tree, in CRIU's --external forms, on checkpoint.",
          "criu --external"),
      key("empty-ns", list(enumeration({"net"})), json::array(),
          "Namespaces to checkpoint without their contents (net: interfaces, routes "
          "and rules are set up by someone else before restore).",
          "criu --empty-ns; runc --empty-ns"),
      key("manage-cgroups",
          enumeration({"ignore", "none", "props", "soft", "full", "strict"}), "soft",
          "How CRIU saves and restores the tree's cgroups.",
          "criu --manage-cgroups[=MODE]; runc --manage-cgroups-mode"),
      key("cgroup-root", list(string("^([a-z_0-9,=]+:)?/.*$", "[CONTROLLER:]/PATH")),
          json::array(),
          "Dump the tree's cgroups from these roots instead of from where its tasks "
          "live ([controller:]/path; checkpoint only, see restore.cgroup-root).",
          "criu --cgroup-root (dump)"),
      key("cgroup-props", string(), nullptr,
          "Controllers and properties to save into the image (CRIU's YAML form; "
          "checkpoint only: CRIU reads it when it dumps).",
          "criu --cgroup-props"),
      key("cgroup-props-file", path(), nullptr,
          "File with the controllers and properties to save into the image.",
          "criu --cgroup-props-file"),
      key("cgroup-dump-controllers", list(string("^[a-z_0-9,]+$", "a cgroup controller")),
          json::array(), "Dump only these cgroup controllers (default: all).",
          "criu --cgroup-dump-controller"),
      key("cgroup-yard", path(), nullptr,
          "A directory of already mounted cgroup hierarchies for CRIU to use on "
          "checkpoint and restore (default: CRIU mounts them in a temporary dir).",
          "criu --cgroup-yard"),
      key("freeze-cgroup", path(), nullptr,
          "Freeze the tree with this cgroup's freezer instead of ptrace.",
          "criu --freeze-cgroup"),
      key("veth-pairs", map(string()), json::object(),
          "veth devices: name inside the tree -> name outside (IN=OUT).",
          "criu --veth-pair IN=OUT"),
      key("evasive-devices", boolean(), false,
          "Use any path to a device file if the original one is inaccessible.",
          "criu --evasive-devices"),
      key("force-irmap", boolean(), false,
          "Force resolving names of inotify and fanotify watches.", "criu --force-irmap"),
      key("irmap-scan-paths", list(path()), json::array(),
          "Where to look for the files of inotify watches.", "criu --irmap-scan-path"),
      key("link-remap", boolean(), false,
          "Allow linking unlinked-but-open files back (changes the file system until "
          "restore).",
          "criu --link-remap"),
      key("ghost-limit", size(), 1048576,
          "Largest deleted-but-open file saved into the image.", "criu --ghost-limit"),
      key("ghost-fiemap", boolean(), true,
          "Save a deleted-but-open file's data extents found with fiemap (false: read "
          "the whole file with SEEK_DATA/SEEK_HOLE, for file systems whose fiemap is "
          "wrong).",
          "criu --ghost-fiemap / --no-ghost-fiemap"),
      key("ext-mount-map", mount_map(), json::object(),
          "External mounts on checkpoint: mount point inside the tree -> key written "
          "into the image.",
          "criu -M/--ext-mount-map KEY:VAL (dump)"),
      key("skip-mnt", list(path()), json::array(),
          "Mount points to leave out of the image.", "criu --skip-mnt"),
      key("enable-fs", list(string("^[a-z0-9_.]+$", "a file system type")), json::array(),
          "File system types to dump even though CRIU does not know them.",
          "criu --enable-fs"),
      key("cpu-cap", enumeration({"none", "fpu", "cpu", "ins", "all"}), "fpu",
          "CPU capabilities written into the image on checkpoint.",
          "criu --cpu-cap (dump)"),
      key("network-lock", enumeration({"nftables", "iptables", "skip"}), "nftables",
          "How the network is locked while the tree is frozen (skip: not at all).",
          "criu --network-lock"),
      key("timeout", duration(), "10s", "Longest time CRIU may take to freeze the tree.",
          "criu --timeout"),
      key("log-level", integer(0, 4), 4,
          "CRIU log level (0 errors only ... 4 debug); the log is kept with the run.",
          "criu -v[NUM]; lxc-checkpoint -v"),
      key("page-server", page_server, nullptr,
          "Another host's CRIU page server, for migration tooling that reads the policy. "
          "stasisd does not migrate: its checkpoint runs refuse a job with this key "
          "(stream-pages streams the pages into the store instead).",
          "criu --page-server --address --port; runc --page-server"),
      key("lazy-pages", boolean(), false,
          "Leave the memory pages on the source for post-copy (lazy) migration.",
          "criu --lazy-pages; runc --lazy-pages"),
      key("stream-pages", boolean(), false,
          "Stream the pages into the store while CRIU dumps them (CRIU's page-server "
          "protocol over a socket pair): no pages file is written, and the checkpoint "
          "is the same as one stored from a dump directory.",
          "criu dump --page-server to stasisd's own page server"),
      key("work-dir", path(), nullptr,
          "Directory for CRIU's logs and statistics (default: the run's directory under "
          "/var/lib/stasis).",
          "criu -W/--work-dir; runc --work-path"),
      key("plugins-dir", path(), nullptr, "Directory of CRIU plugins.",
          "criu -L/--libdir"),
      key("dump-as", enumeration({"auto", "root", "target-user"}), "auto",
          "With whose rights CRIU dumps a process of another user that this job of "
          "root's policy targets. root: CRIU runs as root with stasisd's rights (it "
          "can enter the target's namespaces, e.g. a server in its own IPC "
          "namespace). target-user: CRIU runs as the target's uid with only "
          "CAP_CHECKPOINT_RESTORE and CAP_SYS_PTRACE (unprivileged mode). auto: root "
          "when stasisd holds CAP_SYS_RESOURCE (root CRIU needs it to read another "
          "uid's resource limits), else target-user. Targets that run as root, "
          "containers and ad-hoc checkpoints (CheckpointProcess) are not affected.",
          "criu dump as root, or criu dump --unprivileged as the target's uid"),
  };
}

std::vector<KeySpec> restore_keys() {
  using namespace spec;
  auto inherit_fd = section({
      KeySpec{"key", string(), nullptr,
              "The resource as named in the image: pipe:[INODE], socket:[INODE], "
              "tty:[RDEV:DEV] or a file path.",
              true, "criu --inherit-fd fd[N]:KEY"},
      KeySpec{"path", path(), nullptr, "File stasis opens and passes in its place.", true,
              ""},
      KeySpec{"mode", enumeration({"read", "write", "read-write", "append"}),
              "read-write", "How stasis opens the file.", false, ""},
  });
  auto join_ns = section({
      KeySpec{"ns", enumeration({"net", "ipc", "uts", "time", "user", "mnt", "cgroup"}),
              nullptr, "Namespace type.", true, "criu --join-ns NS:..."},
      KeySpec{"path", path(), nullptr, "Namespace file, e.g. /var/run/netns/blue.", true,
              ""},
      KeySpec{"extra", string(), nullptr, "Extra options (user namespace: UID,GID).",
              false, ""},
  });
  return {
      key("run-as", enumeration({"owner", "root"}), "owner",
          "With whose rights the tree is restored. owner: CRIU runs as the one user "
          "the tree runs as, with only CAP_CHECKPOINT_RESTORE (and CAP_SETPCAP to "
          "restore a bounding set), so it opens files and sockets with that user's "
          "rights; a tree of root is restored as root. root: CRIU runs as root, "
          "which trees of several users or holding capabilities need; only root's "
          "policy can ask for it.",
          "criu restore --unprivileged as the tree's user (owner), criu restore as root"),
      key("detached", boolean(), true,
          "CRIU detaches once the tree runs (the tree is not a child of stasisd; with "
          "false it is, and stasisd reaps it when it exits).",
          "criu -d/--restore-detached; lxc-checkpoint -r -d (default) / -F"),
      key("replace-dead-container", boolean(), false,
          "Container jobs: when a container of the job's name exists but no longer "
          "runs (it crashed or was killed, and was not removed), remove it before the "
          "restore (runc delete, podman rm) so the restore can recreate it. A running "
          "(or paused) container is never removed: the restore fails. LXC restores "
          "into its stopped container anyway. Other jobs ignore the key.",
          "runc delete ID; podman rm NAME (before the restore)"),
      key("sibling", boolean(), false,
          "Restore the root task as a sibling of CRIU (requires detached).",
          "criu -S/--restore-sibling"),
      key("lazy", boolean(), false,
          "Resume at once and restore memory on demand: stasisd serves the pages "
          "from the store to CRIU's lazy-pages daemon until all are in.",
          "criu restore --lazy-pages + criu lazy-pages --page-server"),
      key("pid-namespace", enumeration({"inherit", "new"}), "inherit",
          "new: restore into a fresh PID namespace, so that the original PIDs cannot "
          "collide with running processes.",
          "criu restore run under unshare --pid --fork"),
      key("root", path(), nullptr, "Root file system of the restored mount namespace.",
          "criu -r/--root"),
      key("pidfile", path(), nullptr, "Write the restored root task's PID to this file.",
          "criu --pidfile"),
      key("leave-stopped", boolean(), false,
          "Leave the restored tree stopped (SIGSTOP) instead of resuming it.",
          "criu restore -s/--leave-stopped"),
      key("tcp-close", boolean(), nullptr,
          "Restore established TCP connections closed (each socket is shut down), "
          "for a checkpoint taken with criu.tcp-established as well (e.g. on another "
          "host, where the peers are gone). Default: criu.tcp-close. A checkpoint "
          "taken with criu.tcp-close must be restored with it.",
          "criu --tcp-close (restore)"),
      key("manage-cgroups",
          enumeration({"ignore", "none", "props", "soft", "full", "strict"}), nullptr,
          "How CRIU restores the tree's cgroups (ignore: the tree stays in the "
          "cgroups of the restoring CRIU). Default: criu.manage-cgroups.",
          "criu restore --manage-cgroups[=MODE]"),
      key("cgroup-root", list(string("^([a-z_0-9,=]+:)?/.*$", "[CONTROLLER:]/PATH")),
          json::array(), "Move the tree's cgroups under new roots ([controller:]/path).",
          "criu --cgroup-root (restore)"),
      key("ext-mount-map", mount_map(), json::object(),
          "External mounts on restore: key from the image -> host path bind-mounted in.",
          "criu -M/--ext-mount-map KEY:VAL (restore)"),
      key("ext-mount-auto", boolean(), false,
          "Resolve external mounts missing from ext-mount-map automatically.",
          "criu --ext-mount-map auto"),
      key("enable-external-sharing", boolean(), false,
          "Resolve external shared mounts automatically (needs ext-mount-auto).",
          "criu --enable-external-sharing"),
      key("enable-external-masters", boolean(), false,
          "Resolve external slave mounts automatically (needs ext-mount-auto).",
          "criu --enable-external-masters"),
      key("external",
          list(string("^(mnt|dev|veth|macvlan|net|pid|ipc|uts|time|unix|tty|"
                      "file|cgroup)\\[[^\\]]*\\](:.*)?$",
                      "a CRIU external resource such as veth[eth0]:vethX@br0")),
          json::array(), "External resources to plug in on restore (--external forms).",
          "criu --external (restore)"),
      key("inherit-fd", list(inherit_fd), json::array(),
          "Files stasis opens and passes in place of resources named in the image.",
          "criu --inherit-fd fd[N]:KEY"),
      key("join-ns", list(join_ns), json::array(), "Restore into existing namespaces.",
          "criu --join-ns"),
      key("cpu-cap",
          list(string("^\\^?(none|fpu|cpu|ins|all)$", "[^]none|fpu|cpu|ins|all")),
          json::array({"fpu"}),
          "CPU capabilities the restoring CPU must have (^ inverts).",
          "criu --cpu-cap (restore)"),
      key("lsm-profile",
          string("^(apparmor|selinux):.+$", "apparmor:PROFILE or selinux:CONTEXT"),
          nullptr, "LSM profile of the restored tasks.", "criu --lsm-profile"),
      key("lsm-mount-context", string(), nullptr,
          "SELinux mount context of restored mounts.", "criu --lsm-mount-context"),
      key("mntns-compat-mode", boolean(), false,
          "Restore mount namespaces the pre-4.0 way (without mount-v2).",
          "criu --mntns-compat-mode"),
      key("orphan-pts-master", boolean(), false,
          "Hand the master of an orphaned pty to stasis; CRIU needs the "
          "terminal's session leader in the checkpoint, so not for shell jobs "
          "(restore those from a terminal with stasisctl restore).",
          "criu --orphan-pts-master"),
      key("weak-sysctls", boolean(), false,
          "Skip sysctls the kernel does not have instead of failing.",
          "criu --weak-sysctls"),
      key("skip-file-rwx-check", boolean(), false,
          "Do not check the permissions of restored files.",
          "criu --skip-file-rwx-check"),
      key("file-validation", enumeration({"filesize", "buildid"}), "buildid",
          "How CRIU checks that files are unchanged since the checkpoint.",
          "criu --file-validation"),
  };
}

} // namespace stasis::policy
