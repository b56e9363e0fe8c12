// CRIU flags about what happens to the tree around a checkpoint and a restore
// (leave-running, leave-stopped on dump and on restore, restore-detached,
// restore-sibling), and flags that pass through to CRIU (evasive-devices,
// cpu-cap): each example of examples/flags/ through stasisd, checkpoint,
// restore, self-check.
#include "tests/dbus/ns_example_support.hpp"

#include <signal.h>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;
using manager::RunState;

class AFlagJob : public FlagExampleTest {
protected:
  // Kills the original (if still there), restores and lets the copy verify itself.
  void restore_and_verify(const std::string& job) {
    if (m_workload.alive()) {
      ::kill(m_workload.pid(), SIGCONT);
      m_workload.terminate();
    } else {
      m_workload.reap_after_dump();
    }
    // The original may have verified since the checkpoint: its status must not
    // answer for the copy (whose count of verifications is the checkpoint's).
    m_workload.reset_status();
    auto restored = restore(job);
    ASSERT_EQ(restored.state, RunState::Succeeded) << restored.error << "\n" << log();
    m_workload.adopt(restored.pid);
    ASSERT_TRUE(m_workload.wait_for_ticks(1, 10s)) << "the copy wrote no status";
    EXPECT_EQ(m_workload.verify(), "");
    EXPECT_TRUE(m_workload.wait_for_ticks(m_workload.ticks() + 2, 5s));
    m_restored_parent = read_proc_stat(restored.pid).value_or(ProcStat{}).ppid;
  }

  Workload m_workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  pid_t m_restored_parent = 0;
};

TEST_F(AFlagJob, LeaveRunningKeepsTheOriginalWorking) {
  ASSERT_NO_FATAL_FAILURE(start_with("leave-running", m_workload.pid()));
  auto info = checkpoint("snapshot-and-continue");
  ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
  ASSERT_TRUE(m_workload.alive());
  EXPECT_EQ(m_workload.verify(), "");
  restore_and_verify("snapshot-and-continue");
}

TEST_F(AFlagJob, LeaveStoppedLeavesTheOriginalStopped) {
  ASSERT_NO_FATAL_FAILURE(start_with("leave-stopped", m_workload.pid()));
  auto info = checkpoint("freeze-frame");
  ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
  const auto stat = read_proc_stat(m_workload.pid());
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->state, 'T');
  ::kill(m_workload.pid(), SIGCONT);
  EXPECT_EQ(m_workload.verify(), "");
  restore_and_verify("freeze-frame");
}

TEST_F(AFlagJob, RestoreLeaveStoppedLeavesTheRestoredTreeStopped) {
  ASSERT_NO_FATAL_FAILURE(start_with("restore-leave-stopped", m_workload.pid()));
  auto info = checkpoint("restore-stopped");
  ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
  m_workload.reap_after_dump();
  auto restored = restore("restore-stopped");
  ASSERT_EQ(restored.state, RunState::Succeeded) << restored.error << "\n" << log();
  m_workload.adopt(restored.pid);
  const auto stat = read_proc_stat(restored.pid);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->state, 'T');
  ::kill(restored.pid, SIGCONT);
  EXPECT_EQ(m_workload.verify(), "");
}

TEST_F(AFlagJob, RestoreDetachedLeavesTheTreeToTheSubreaper) {
  ASSERT_NO_FATAL_FAILURE(start_with("restore-detached", m_workload.pid()));
  auto info = checkpoint("detached-worker");
  ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
  restore_and_verify("detached-worker");
  // This test is the subreaper of everything stasisd leaves behind.
  EXPECT_EQ(m_restored_parent, ::getpid());
}

TEST_F(AFlagJob, RestoreSiblingMakesTheTreeAChildOfTheDaemon) {
  ASSERT_NO_FATAL_FAILURE(start_with("restore-sibling", m_workload.pid()));
  auto info = checkpoint("sibling-worker");
  ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
  restore_and_verify("sibling-worker");
  const auto parent = read_proc_stat(m_restored_parent);
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->ppid, ::getpid()) << "the parent is not stasisd";
  EXPECT_NE(m_restored_parent, ::getpid());
  // stasisd reaps the trees it restores as its children once they exit: no
  // zombie is left behind for the daemon's lifetime.
  const pid_t copy = m_workload.pid();
  ASSERT_EQ(::kill(copy, SIGKILL), 0);
  EXPECT_TRUE(wait_pid_free(copy, 5s)) << "pid " << copy << " lingers (a zombie?)";
  EXPECT_NE(log().find("(pid " + std::to_string(copy) + ") was killed by signal"),
            std::string::npos)
      << log();
}

TEST_F(AFlagJob, EvasiveDevicesPassesThrough) {
  ASSERT_NO_FATAL_FAILURE(start_with("evasive-devices", m_workload.pid()));
  auto info = checkpoint("device-user");
  ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
  restore_and_verify("device-user");
}

TEST_F(AFlagJob, CpuCapAllChecksThisCpuOnRestore) {
  ASSERT_NO_FATAL_FAILURE(start_with("cpu-cap", m_workload.pid()));
  auto info = checkpoint("portable-worker");
  ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
  restore_and_verify("portable-worker");
}

} // namespace
} // namespace stasis::test
