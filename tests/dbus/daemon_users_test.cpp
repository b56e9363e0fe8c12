// stasisd end to end with two real users: a user checkpoints (as their own
// uid: the unprivileged dump path) and restores their own process; another
// user is refused and sees nothing of it.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"

#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ADaemonWithUsers : public DaemonTest {};

TEST_F(ADaemonWithUsers, LetsUsersCheckpointAndRestoreOnlyTheirOwnProcesses) {
  TestUser alice("stasis-t-alice");
  TestUser bob("stasis-t-bob");
  write_policy("root.yaml", pidfile_job("root-only", dir() / "none.pid"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  const fs::path alice_dir = dir() / "alice";
  const pid_t pid = start_workload_as(alice, "stasis-wl-counter", alice_dir);
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  ASSERT_TRUE(fs::exists(alice_dir / "status"));
  const std::string job = "user-" + std::to_string(alice.uid());

  // Bob may not checkpoint Alice's process; nothing is run for him.
  auto denied = stasisctl({"checkpoint", "--pid", std::to_string(pid)}, bob.name());
  EXPECT_EQ(denied.exit_code, 4) << denied.out << denied.err;

  // Alice checkpoints it (stopping it, streaming its pages into the store):
  // the dump runs as her uid and writes into the socket it inherits.
  auto made = stasisctl(
      {"checkpoint", "--pid", std::to_string(pid), "--stop", "--stream"}, alice.name());
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  const std::string checkpoint = made.out.substr(0, made.out.find('\n'));
  EXPECT_NE(log().find("as uid " + std::to_string(alice.uid())), std::string::npos);
  EXPECT_NE(log().find("stored streamed checkpoint " + job), std::string::npos) << log();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  release_child(pid);
  ASSERT_TRUE(wait_pid_free(pid, 10s));

  // Bob sees neither the job nor its runs and may not restore it: for him the
  // job does not exist (exit 5, NoSuchJob), as any name nobody uses.
  auto bob_restore = stasisctl({"restore", job}, bob.name());
  EXPECT_EQ(bob_restore.exit_code, 5) << bob_restore.out << bob_restore.err;
  auto bob_jobs = stasisctl({"jobs", "--json"}, bob.name());
  ASSERT_EQ(bob_jobs.exit_code, 0) << bob_jobs.err;
  EXPECT_EQ(bob_jobs.out.find(job), std::string::npos) << bob_jobs.out;
  EXPECT_EQ(bob_jobs.out.find("root-only"), std::string::npos) << bob_jobs.out;
  auto bob_history = stasisctl({"history", "--json"}, bob.name());
  EXPECT_EQ(bob_history.out.find(job), std::string::npos) << bob_history.out;

  // Alice restores it; it runs as her again and checks out.
  auto restored = stasisctl({"restore", job, checkpoint}, alice.name());
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err << log();
  const pid_t restored_pid = std::stoi(restored.out);
  EXPECT_EQ(restored_pid, pid);
  EXPECT_EQ(uid_line(restored_pid), fmt::format("Uid:\t{0}\t{0}\t{0}\t{0}", alice.uid()));
  EXPECT_EQ(verify_workload(restored_pid, alice_dir / "status"), "");

  // Only Alice's two runs exist: Bob's refused requests read and ran nothing.
  auto runs = client->list_runs("", 0);
  ASSERT_TRUE(runs);
  EXPECT_EQ(runs->size(), 2u);
  for (const auto& run : *runs) {
    EXPECT_EQ(run.job, job);
  }
  ::kill(restored_pid, SIGKILL);
  wait_pid_gone(restored_pid, 5s);
}

} // namespace
} // namespace stasis::test
