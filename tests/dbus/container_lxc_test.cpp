// An LXC container (busybox counter) checkpointed and restored through stasisd
// with examples/lxc-container.yaml: lxc-checkpoint -s (leave-running false),
// -v (log-level 4), -P (lxcpath), `criu` first on PATH, the network lock
// through CRIU_CONFIG_FILE, and lxc-checkpoint -r -d.
#include "tests/dbus/container_fixture.hpp"

#include <fstream>
#include <unistd.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;

class AnLxcContainer : public ContainerTest {
protected:
  // Writes lxcpath/<name>/{config,rootfs}: what `lxc-create -t busybox` makes,
  // reduced to what CRIU restores here (no network devices, ttys, console or
  // AppArmor keys; no bind mounts of the symlinked /lib, /lib64).
  void make_container() {
    const fs::path home = lxcpath / name;
    make_busybox_rootfs(home / "rootfs");
    std::ofstream(home / "rootfs" / "counter.sh") << k_counter_script << "\n";
    std::ofstream(home / "config")
        << "lxc.rootfs.path = dir:" << (home / "rootfs").string() << "\n"
        << "lxc.uts.name = " << name << "\n"
        << "lxc.net.0.type = empty\n"
        << "lxc.tty.max = 0\n"
        << "lxc.pty.max = 1\n"
        << "lxc.console.path = none\n"
        << "lxc.autodev = 1\n"
        << "lxc.cap.drop = sys_module mac_admin mac_override sys_time\n"
        << "lxc.mount.auto = cgroup:mixed proc:mixed sys:ro\n"
        << "lxc.mount.entry = " << data_dir().string() << " data none bind 0 0\n"
        << "lxc.init.cmd = /bin/sh /counter.sh\n";
  }

  std::vector<std::string> lxc(const std::string& tool,
                               std::vector<std::string> args = {}) const {
    args.insert(args.begin(), {tool, "-P", lxcpath.string(), "-n", name});
    return args;
  }

  pid_t init_pid() const {
    auto info = run_tool(lxc("lxc-info", {"-p", "-H"}));
    if (info.exit_code != 0 ||
        info.output.find_first_of("0123456789") == std::string::npos) {
      return -1;
    }
    return static_cast<pid_t>(std::stol(info.output));
  }

  void stop_container() const { run_tool(lxc("lxc-stop", {"--kill"})); }

  const std::string name = "stasis-test-" + std::to_string(::getpid());
  const fs::path lxcpath = dir() / "lxc";
};

TEST_F(AnLxcContainer, IsCheckpointedByLxcCheckpointAndRestoredWithoutAGap) {
  ASSERT_NO_FATAL_FAILURE(make_container());
  install_example("lxc-container.yaml", {{"name: buildbox", "name: " + name},
                                         {"/var/lib/lxc", lxcpath.string()}});
  Cleanup cleanup([this] { stop_container(); });
  auto started = run_tool(lxc("lxc-start"));
  ASSERT_EQ(started.exit_code, 0) << started.describe();
  checkpoint_kill_restore(
      "build-box", [this] { return init_pid(); }, [this] { stop_container(); });
}

} // namespace
} // namespace stasis::test
