// A podman container (busybox counter from a locally imported image)
// checkpointed and restored through stasisd with examples/podman-container.yaml:
// podman container checkpoint --export (unpacked into the store)
// --leave-running --tcp-established --file-locks with `criu` first on PATH,
// then, after `podman rm`, podman container restore --import of the archive
// stasis packs again.
#include "tests/dbus/container_fixture.hpp"

#include <unistd.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;

class APodmanContainer : public ContainerTest {
protected:
  std::vector<std::string> podman(std::vector<std::string> args) const {
    std::vector<std::string> argv{"podman"};
    // As stasis does: without systemd, podman must use cgroupfs.
    if (!fs::exists("/run/systemd/system")) {
      argv.insert(argv.end(), {"--cgroup-manager", "cgroupfs"});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // Imports a busybox image (no registry needed) and starts the counter.
  void start_container() {
    const fs::path rootfs = dir() / "rootfs";
    make_busybox_rootfs(rootfs);
    const fs::path archive = dir() / "rootfs.tar";
    auto packed =
        run_tool({"tar", "-c", "-f", archive.string(), "-C", rootfs.string(), "."});
    ASSERT_EQ(packed.exit_code, 0) << packed.describe();
    auto imported = run_tool(podman({"import", "--quiet", archive.string(), image}));
    ASSERT_EQ(imported.exit_code, 0) << imported.describe();
    auto started = run_tool(
        podman({"run", "--detach", "--name", name, "--network", "none", "--ulimit",
                "nofile=1024:1024", "--ulimit", "nproc=4096:4096", "--volume",
                data_dir().string() + ":/data", image, "sh", "-c", k_counter_script}));
    ASSERT_EQ(started.exit_code, 0) << started.describe();
  }

  pid_t init_pid() const {
    auto inspect =
        run_tool(podman({"container", "inspect", "--format", "{{.State.Pid}}", name}));
    if (inspect.exit_code != 0 ||
        inspect.output.find_first_of("0123456789") == std::string::npos) {
      return -1;
    }
    const long pid = std::stol(inspect.output);
    return pid > 0 ? static_cast<pid_t>(pid) : -1;
  }

  void remove_container() const {
    run_tool(podman({"rm", "--force", "--time", "0", name}));
  }

  const std::string name = "stasis-test-" + std::to_string(::getpid());
  const std::string image = "localhost/stasis-test-busybox:" + std::to_string(::getpid());
};

TEST_F(APodmanContainer, IsCheckpointedByPodmanAndRestoredFromItsImportedArchive) {
  install_example("podman-container.yaml", {{"podman: redis", "podman: " + name}});
  Cleanup cleanup([this] {
    remove_container();
    run_tool(podman({"rmi", "--force", image}));
  });
  ASSERT_NO_FATAL_FAILURE(start_container());
  checkpoint_kill_restore(
      "redis-cache", [this] { return init_pid(); }, [this] { remove_container(); });
}

} // namespace
} // namespace stasis::test
