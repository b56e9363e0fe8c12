// CRIU --file-locks through stasisd: policy examples/flags/file-locks.yaml,
// workload stasis-wl-locks (an flock and a POSIX lock held for its life).
#include "tests/dbus/flags_support.hpp"

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

class AFileLocksJob : public FlagsTest {};

TEST_F(AFileLocksJob, HoldsItsLocksAgainAfterARestoreAndNamesTheKeyWhenItIsMissing) {
  const auto locks = dir() / "locks";
  auto workload =
      Workload::start("stasis-wl-locks", {"--lock-dir", locks.string()}, dir() / "wl");
  ASSERT_EQ(workload.verify(), "");
  const auto pidfile = write_pidfile("locks", workload.pid());
  install_example("file-locks", {{"/run/stasis-examples/file-locks.pid", pidfile}});
  install_job("unset.yaml", pidfile_job("file-locks-unset", pidfile));
  start_daemon();

  // Without the key: a clear error naming it; the workload runs on untouched.
  auto refused = checkpoint("file-locks-unset");
  EXPECT_EQ(refused.state, manager::RunState::Failed);
  EXPECT_NE(refused.error.find("set `criu.file-locks: true` in the policy of job "
                               "'file-locks-unset'"),
            std::string::npos)
      << refused.error;
  EXPECT_EQ(workload.verify(), "");

  auto dumped = checkpoint("file-locks");
  ASSERT_EQ(dumped.state, manager::RunState::Succeeded) << dumped.error << "\n" << log();
  workload.reap_after_dump();
  // The locks died with the process...
  EXPECT_EQ(
      run_command({"/usr/bin/flock", "-n", (locks / "flock.lock").string(), "/bin/true"})
          .exit_code,
      0);
  EXPECT_EQ(posix_lock_holder(locks / "posix.lock"), 0);

  auto restored = restore("file-locks");
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  workload.adopt(restored.pid);
  EXPECT_EQ(workload.verify(), "");
  // ...and are held again by the restored one: flock -n from outside fails.
  EXPECT_EQ(
      run_command({"/usr/bin/flock", "-n", (locks / "flock.lock").string(), "/bin/true"})
          .exit_code,
      1);
  EXPECT_EQ(posix_lock_holder(locks / "posix.lock"), restored.pid);
}

} // namespace
} // namespace stasis::test
