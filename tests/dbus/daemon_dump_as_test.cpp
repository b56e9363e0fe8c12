// criu.dump-as: root's policy job of another user's process is dumped by the
// worker the key chooses (manager/dump_worker.hpp), and the checkpoint
// restores, with a real stasisd, CRIU and user.
#include "manager/dump_worker.hpp"
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"
#include "tests/support/process.hpp"
#include "tests/support/subreaper.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class APolicyJobOfAUsersProcess : public DaemonTest {
protected:
  // Checkpoints her counter with the job's criu.dump-as, kills it, restores
  // it and checks that it counts on as her; returns the checkpoint run.
  manager::RunInfo checkpoint_and_restore(const TestUser& user,
                                          const std::string& dump_as) {
    const fs::path home = dir() / user.name();
    const pid_t pid = start_workload_as(user, "stasis-wl-counter", home);
    EXPECT_GT(pid, 0);
    KillOnExit guard{pid};
    write_policy("app.yaml", pidfile_job("app", write_pidfile("app", pid),
                                         "criu: {dump-as: " + dump_as + "}\n"));
    start_daemon();
    auto client = this->client();
    EXPECT_TRUE(client);
    auto made = client->checkpoint("app", {});
    EXPECT_TRUE(made) << made.error().message;
    const auto dumped = wait_run(*client, *made);
    EXPECT_EQ(dumped.state, manager::RunState::Succeeded) << dumped.error << log();
    if (dumped.state != manager::RunState::Succeeded) {
      return dumped;
    }
    int status = 0;
    ::waitpid(pid, &status, 0); // CRIU killed it after the dump
    release_child(pid);
    EXPECT_TRUE(wait_pid_free(pid, 10s));

    auto asked = client->restore("app", dumped.checkpoint, {});
    EXPECT_TRUE(asked) << asked.error().message;
    const auto restored = wait_run(*client, *asked);
    EXPECT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << log();
    KillOnExit restored_guard{restored.pid};
    EXPECT_EQ(uid_line(restored.pid),
              fmt::format("Uid:\t{0}\t{0}\t{0}\t{0}", user.uid()));
    EXPECT_EQ(verify_workload(restored.pid, home / "status"), "");
    return dumped;
  }

  // Whether stasisd's log says the dump ran as the user's uid.
  bool dumped_as(const TestUser& user) const {
    return log().find(fmt::format(", as uid {})", user.uid())) != std::string::npos;
  }
};

TEST_F(APolicyJobOfAUsersProcess, IsDumpedAsHerWithDumpAsTargetUserAndRestores) {
  TestUser alice("stasis-t-svc-dumpas-user");
  checkpoint_and_restore(alice, "target-user");
  EXPECT_TRUE(dumped_as(alice)) << log();
}

// auto is root where stasisd holds CAP_SYS_RESOURCE, her uid elsewhere (as
// on a host whose bounding set lacks it): either way the dump and restore
// succeed.
TEST_F(APolicyJobOfAUsersProcess, IsDumpedByTheWorkerAutoChoosesAndRestores) {
  TestUser alice("stasis-t-svc-dumpas-auto");
  checkpoint_and_restore(alice, "auto");
  EXPECT_EQ(dumped_as(alice), !manager::root_dumps_other_uids()) << log();
}

// root is taken as written. Without CAP_SYS_RESOURCE root CRIU cannot read
// her process's resource limits, and the error says which setting helps.
TEST_F(APolicyJobOfAUsersProcess, IsDumpedAsRootWithDumpAsRoot) {
  TestUser alice("stasis-t-svc-dumpas-root");
  if (manager::root_dumps_other_uids()) {
    checkpoint_and_restore(alice, "root");
    EXPECT_FALSE(dumped_as(alice)) << log();
    return;
  }
  const fs::path home = dir() / alice.name();
  const pid_t pid = start_workload_as(alice, "stasis-wl-counter", home);
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  write_policy("app.yaml", pidfile_job("app", write_pidfile("app", pid),
                                       "criu: {dump-as: root, leave-running: true}\n"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  auto made = client->checkpoint("app", {});
  ASSERT_TRUE(made) << made.error().message;
  const auto dumped = wait_run(*client, *made);
  EXPECT_EQ(dumped.state, manager::RunState::Failed) << log();
  EXPECT_NE(dumped.error.find("criu.dump-as: auto or target-user"), std::string::npos)
      << dumped.error;
  EXPECT_FALSE(dumped_as(alice)) << log();
  EXPECT_EQ(verify_workload(pid, home / "status"), "");
}

} // namespace
} // namespace stasis::test
