// PID collisions: a checkpointed tree restored while its pid is still taken
// (the original keeps running) goes into a fresh PID namespace, where it keeps
// its pids. Policy: examples/flags/new-pid-namespace.yaml.
#include "manager/pid_namespace_restore.hpp"
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/ns_example_support.hpp"

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

class ANewPidNamespaceRestore : public DaemonTest {
protected:
  // Starts the counter workload, installs the example (with `rewrites` on top
  // of its pidfile path), starts stasisd and checkpoints the job (leave-running).
  void checkpoint_running_original(std::map<std::string, std::string> rewrites = {}) {
    rewrites["/run/stasis-examples/new-pid-namespace.pid"] =
        write_pidfile("twin", m_workload.pid()).string();
    install_flag_example(policy_dir(), "new-pid-namespace", rewrites);
    start_daemon();
    m_client = client();
    ASSERT_TRUE(m_client);
    auto run = m_client->checkpoint("twin", {});
    ASSERT_TRUE(run) << run.error().message;
    auto info = wait_run(*m_client, *run);
    ASSERT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();
    ASSERT_TRUE(m_workload.alive()) << "leave-running did not keep the original";
  }

  // Checks that the restored copy runs under the original's pid in its own
  // namespace, then hands it the status file and lets it verify itself.
  void expect_copy_verifies(pid_t copy) {
    const pid_t original = m_workload.pid();
    ASSERT_GT(copy, 0);
    EXPECT_NE(copy, original);
    EXPECT_EQ(manager::innermost_pid(copy), original);
    EXPECT_TRUE(m_workload.alive()) << "the original must be left alone";
    m_workload.terminate();
    m_workload.adopt(copy);
    EXPECT_EQ(m_workload.verify(), "");
    EXPECT_TRUE(m_workload.wait_for_ticks(m_workload.ticks() + 2, 5s));
  }

  Workload m_workload = Workload::start("stasis-wl-counter", {}, dir() / "twin");
  std::unique_ptr<dbus::Client> m_client;
};

TEST_F(ANewPidNamespaceRestore, RestoresACopyWhileTheOriginalHoldsItsPid) {
  ASSERT_TRUE(m_workload.wait_for_ticks(2, 5s));
  ASSERT_NO_FATAL_FAILURE(checkpoint_running_original());
  auto restore = m_client->restore("twin", "", {});
  ASSERT_TRUE(restore) << restore.error().message;
  auto restored = wait_run(*m_client, *restore);
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  expect_copy_verifies(restored.pid);
}

TEST_F(ANewPidNamespaceRestore, IsAlsoARestoreOptionAndRefusesTheClashWithout) {
  ASSERT_TRUE(m_workload.wait_for_ticks(2, 5s));
  ASSERT_NO_FATAL_FAILURE(
      checkpoint_running_original({{"pid-namespace: new", "pid-namespace: inherit"}}));
  auto clash = m_client->restore("twin", "", {});
  ASSERT_TRUE(clash) << clash.error().message;
  auto refused = wait_run(*m_client, *clash);
  EXPECT_EQ(refused.state, manager::RunState::Failed);
  EXPECT_NE(refused.error.find("still taken"), std::string::npos) << refused.error;
  EXPECT_NE(refused.error.find("pid-namespace: new"), std::string::npos) << refused.error;

  manager::RestoreOptions options;
  options.new_pid_namespace = true;
  auto restore = m_client->restore("twin", "", options);
  ASSERT_TRUE(restore) << restore.error().message;
  auto restored = wait_run(*m_client, *restore);
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  expect_copy_verifies(restored.pid);
}

} // namespace
} // namespace stasis::test
