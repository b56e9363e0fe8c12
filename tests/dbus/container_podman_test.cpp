// A podman container (busybox counter from a locally imported image)
// checkpointed and restored through stasisd with examples/podman-container.yaml:
// podman container checkpoint --export (unpacked into the store)
// --leave-running --tcp-established --file-locks with `criu` first on PATH,
// then, after `podman rm`, podman container restore --import of the archive
// stasis packs again.
#include "tests/dbus/container_fixture.hpp"
#include "tests/dbus/daemon_host.hpp"

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

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

// With replicate:, a push of a podman job also puts podman's own checkpoint
// image (--create-image's format) on the registry; with stasisd stopped and
// the container removed, plain `podman pull` and `podman container restore
// IMAGE` bring the counter back where the checkpoint left it.
TEST_F(APodmanContainer, IsPushedAsPodmansOwnImageWhichPodmanRestoresWithoutStasis) {
  TestRegistry registry;
  std::ofstream(dir() / "ca.pem") << registry.ca_pem();
  write_auth_file(dir() / "auth.json", registry.host());
  std::istringstream replicate(replicate_yaml(registry.host(), "podman/redis",
                                              dir() / "auth.json", dir() / "ca.pem",
                                              "origin: here\n"));
  std::string indented;
  for (std::string line; std::getline(replicate, line);) {
    indented += "    " + line + "\n";
  }
  install_example("podman-container.yaml", {{"podman: redis", "podman: " + name},
                                            {"    access:", indented + "    access:"}});
  const std::string checkpoint_image =
      registry.host() + "/podman/redis:redis-cache-latest.podman";
  Cleanup cleanup([this, checkpoint_image] {
    remove_container();
    run_tool(podman({"rmi", "--force", checkpoint_image}));
    run_tool(podman({"rmi", "--force", image}));
  });
  ASSERT_NO_FATAL_FAILURE(start_container());
  ASSERT_TRUE(wait_for_lines(5, 10s)) << "the container's counter does not count";
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  const long before = last_or_zero(counter());
  auto run = client->checkpoint("redis-cache", {});
  ASSERT_TRUE(run) << run.error().message;
  auto info = wait_run(*client, *run, 60s);
  ASSERT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();
  const long after = last_or_zero(counter());
  std::vector<manager::RunInfo> pushed;
  ASSERT_TRUE(wait_until(
      [&] {
        pushed = runs_of(*client, "redis-cache", manager::RunKind::Push,
                         manager::RunState::Succeeded);
        return !pushed.empty() || !runs_of(*client, "redis-cache", manager::RunKind::Push,
                                           manager::RunState::Failed)
                                       .empty();
      },
      120s))
      << log();
  ASSERT_FALSE(pushed.empty()) << runs_of(*client, "redis-cache", manager::RunKind::Push,
                                          manager::RunState::Failed)
                                      .front()
                                      .error
                               << "\n"
                               << log();

  // No stasis from here on: stasisd stops, the container goes.
  stop_daemon(SIGTERM);
  remove_container();
  const std::size_t lines_at_stop = counter().size();
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(counter().size(), lines_at_stop) << "the container still counts after rm";

  const fs::path certs = dir() / "certs";
  fs::create_directories(certs);
  fs::copy_file(dir() / "ca.pem", certs / "ca.crt");
  const std::string creds =
      std::string(TestRegistry::k_user) + ":" + TestRegistry::k_password;
  auto pulled = run_tool(podman({"pull", "--quiet", "--cert-dir", certs.string(),
                                 "--creds", creds, checkpoint_image}));
  ASSERT_EQ(pulled.exit_code, 0) << pulled.describe();
  auto annotations =
      run_tool(podman({"image", "inspect", "--format",
                       "{{index .Annotations \"io.podman.annotations.checkpoint.name\"}}",
                       checkpoint_image}));
  EXPECT_NE(annotations.output.find(name), std::string::npos) << annotations.describe();
  // podman (through runc) finds CRIU on PATH, as on any host that has it.
  std::vector<std::string> restore{"env", "PATH=" + criu_binary().parent_path().string() +
                                              ":/usr/sbin:/usr/bin:/sbin:/bin"};
  for (const auto& arg : podman({"container", "restore", checkpoint_image})) {
    restore.push_back(arg);
  }
  auto restored = run_tool(restore);
  ASSERT_EQ(restored.exit_code, 0) << restored.describe();
  EXPECT_GT(init_pid(), 0);

  ASSERT_TRUE(wait_for_lines(lines_at_stop + 5, 10s))
      << "the restored counter does not count";
  const auto values = counter();
  const long resumed = values[lines_at_stop] - 1;
  EXPECT_GE(resumed, before) << "the restored counter went back before the checkpoint";
  EXPECT_LE(resumed, after) << "the restored counter skipped numbers";
  for (std::size_t i = lines_at_stop + 1; i < values.size(); ++i) {
    ASSERT_EQ(values[i], values[i - 1] + 1) << "gap after the restore at line " << i;
  }
}

} // namespace
} // namespace stasis::test
