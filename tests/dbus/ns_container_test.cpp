// Namespaces: a container-like tree (stasis-wl-container: new PID, mount,
// UTS, IPC and network namespaces, its init a session leader) whose mount
// namespace holds the bind mount of a named network namespace. The mount is
// declared external on checkpoint and mapped back on restore with root /.
// Policies: examples/flags/namespaces.yaml and examples/flags/ext-mount-map.yaml.
// The tree's directory is on a disk file system even where /tmp is a tmpfs.
#include "tests/dbus/ns_example_support.hpp"
#include "tests/support/temp_dir.hpp"

#include <fstream>
#include <sstream>
#include <thread>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;
using manager::RunState;

std::string ns_link(pid_t pid, const char* ns) {
  std::error_code error;
  return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/ns/" + ns,
                                       error)
      .string();
}

class AContainerLikeTree : public FlagExampleTest {
protected:
  AContainerLikeTree() {
    const auto made = run_command({"/usr/sbin/ip", "netns", "add", m_netns});
    if (made.exit_code != 0) {
      throw std::runtime_error("ip netns add " + m_netns + " failed");
    }
  }
  ~AContainerLikeTree() override {
    m_workload.reset();
    run_command({"/usr/sbin/ip", "netns", "del", m_netns});
  }

  // Starts the tree and tracks its init (the checkpoint target).
  void start_container() {
    m_workload = std::make_unique<Workload>(Workload::start(
        "stasis-wl-container", {"--keep-netns", m_netns}, m_disk.path() / "container"));
    const auto pid_file = m_disk.path() / "container" / "init.pid";
    pid_t init = 0;
    for (auto deadline = std::chrono::steady_clock::now() + 5s;
         init == 0 && std::chrono::steady_clock::now() < deadline;
         std::this_thread::sleep_for(10ms)) {
      std::ifstream(pid_file) >> init;
    }
    ASSERT_GT(init, 0) << "stasis-wl-container wrote no init.pid";
    m_workload->adopt(init);
    ASSERT_EQ(m_workload->verify(), "");
    ASSERT_NE(ns_link(init, "pid"), ns_link(::getpid(), "pid"));
  }

  // The rewrites that point an example at this test's netns.
  std::map<std::string, std::string> netns_rewrites() const {
    return {{"/run/netns/demo", "/run/netns/" + m_netns}};
  }

  // Checkpoints the job (the tree is killed), restores it, lets it verify itself.
  void checkpoint_restore_verify(const std::string& job) {
    auto info = checkpoint(job);
    ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
    m_workload->reap_after_dump();
    auto restored = restore(job);
    ASSERT_EQ(restored.state, RunState::Succeeded) << restored.error << "\n" << log();
    m_workload->adopt(restored.pid);
    EXPECT_EQ(m_workload->verify(), "");
    EXPECT_TRUE(m_workload->wait_for_ticks(m_workload->ticks() + 2, 5s));
    // Still the init of namespaces of its own.
    EXPECT_NE(ns_link(restored.pid, "pid"), ns_link(::getpid(), "pid"));
    EXPECT_NE(ns_link(restored.pid, "net"), ns_link(::getpid(), "net"));
    EXPECT_NE(ns_link(restored.pid, "mnt"), ns_link(::getpid(), "mnt"));
  }

  std::string m_netns = "stasis-ns-" + std::to_string(::getpid());
  // The tree's files, never on a tmpfs: the tree's private mount namespace
  // would get a copy of it on restore (disk_temp_base).
  TempDir m_disk{disk_temp_base(), "stasis-ns-container"};
  std::unique_ptr<Workload> m_workload;
};

TEST_F(AContainerLikeTree, RestoresWithTheNetnsMountDeclaredExternal) {
  ASSERT_NO_FATAL_FAILURE(start_container());
  ASSERT_NO_FATAL_FAILURE(start_with("namespaces", m_workload->pid(), netns_rewrites()));
  checkpoint_restore_verify("mini-container");
}

TEST_F(AContainerLikeTree, RestoresWithAnExtMountMap) {
  ASSERT_NO_FATAL_FAILURE(start_container());
  ASSERT_NO_FATAL_FAILURE(
      start_with("ext-mount-map", m_workload->pid(), netns_rewrites()));
  checkpoint_restore_verify("mapped-container");
}

TEST_F(AContainerLikeTree, RefusesAnExternalMountMappingWithoutRestoreRoot) {
  ASSERT_NO_FATAL_FAILURE(start_container());
  auto rewrites = netns_rewrites();
  rewrites["      root: /\n"] = "";
  ASSERT_NO_FATAL_FAILURE(start_with("namespaces", m_workload->pid(), rewrites));
  auto info = checkpoint("mini-container");
  ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
  m_workload->reap_after_dump();
  auto refused = restore("mini-container");
  EXPECT_EQ(refused.state, RunState::Failed);
  EXPECT_NE(refused.error.find("invalid restore options"), std::string::npos)
      << refused.error;
  EXPECT_NE(refused.error.find("set root"), std::string::npos) << refused.error;
  // Refused before CRIU ran: nothing was restored, so the pid is still free.
  EXPECT_FALSE(m_workload->alive());
}

} // namespace
} // namespace stasis::test
