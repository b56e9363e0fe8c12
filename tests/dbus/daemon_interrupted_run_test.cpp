// stasisd killed (SIGKILL) in the middle of a restore, right after CRIU
// restored the tree: the next stasisd records the run as interrupted, with
// the restored pid, which still runs.
#include "tests/dbus/daemon_fixture.hpp"

#include <fstream>
#include <sys/wait.h>
#include <thread>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ADaemonKilledDuringARestore : public DaemonTest {
protected:
  // An on-success hook that holds the run (after the restore's CRIU step)
  // until the test creates `release` (or 30 s pass); it writes its pid first.
  std::string holding_hook() const {
    const auto script = fmt::format(
        "echo $$ > {0}/hook.pid; i=0; while [ ! -e {0}/release ] && [ $i -lt 600 ]; "
        "do sleep 0.05; i=$((i+1)); done",
        dir().string());
    return fmt::format(
        "hooks:\n  on-success:\n    - run: [\"/bin/sh\", \"-c\", \"{}\"]\n", script);
  }

  // Lets the hook end and reaps it (stasisd, its parent, is gone: the test
  // process, a subreaper, inherited it).
  void release_hook() {
    std::ofstream(dir() / "release") << "\n";
    std::ifstream in(dir() / "hook.pid");
    pid_t hook = 0;
    if (in >> hook && hook > 0) {
      ::waitpid(hook, nullptr, 0);
    }
  }
};

TEST_F(ADaemonKilledDuringARestore,
       RecordsTheRunAsInterruptedWithTheRestoredPidThatRuns) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  const auto pidfile = write_pidfile("counter", workload.pid());
  write_policy("counter.yaml", pidfile_job("counter", pidfile));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  auto made = client->checkpoint("counter", {});
  ASSERT_TRUE(made) << made.error().message;
  ASSERT_EQ(wait_run(*client, *made).state, manager::RunState::Succeeded) << log();
  workload.reap_after_dump(); // on demand: CRIU killed the tree after the dump

  // Now the job holds its restores after CRIU's step; kill stasisd there.
  write_policy("counter.yaml", pidfile_job("counter", pidfile, holding_hook()));
  ASSERT_TRUE(client->reload()) << log();
  auto restore = client->restore("counter", "", {});
  ASSERT_TRUE(restore) << restore.error().message;
  pid_t restored = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (restored == 0 && std::chrono::steady_clock::now() < deadline) {
    auto info = client->get_run(*restore);
    ASSERT_TRUE(info) << info.error().message;
    // Queued until a worker takes it (the call returns first), then running.
    ASSERT_TRUE(info->state == manager::RunState::Queued ||
                info->state == manager::RunState::Running)
        << manager::to_string(info->state) << ": " << info->error << log();
    restored = info->pid;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_GT(restored, 0) << "the restore did not record its pid\n" << log();
  ASSERT_TRUE(fs::exists(dir() / "hook.pid")) << log();
  stop_daemon(SIGKILL);
  workload.adopt(restored);
  release_hook();

  start_daemon();
  client = this->client();
  ASSERT_TRUE(client);
  auto info = client->get_run(*restore);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->state, manager::RunState::Interrupted) << info->error;
  EXPECT_EQ(info->pid, restored);
  EXPECT_NE(
      info->error.find(fmt::format(
          "after CRIU restored the tree as pid {}, which is still that tree and runs",
          restored)),
      std::string::npos)
      << info->error;
  auto history = stasisctl({"history"});
  EXPECT_EQ(history.exit_code, 0) << history.err;
  EXPECT_NE(history.out.find("interrupted"), std::string::npos) << history.out;
  EXPECT_EQ(workload.verify(), "");
}

} // namespace
} // namespace stasis::test
