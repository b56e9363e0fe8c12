// stasisd resolving the targets of root's jobs against what local users
// control: their command lines (a 240 KB one must neither crash stasisd nor
// hide the real target).
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"

#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ADaemonResolvingTargets : public DaemonTest {
protected:
  // Checkpoints a job and waits for the run.
  manager::RunInfo run_job(dbus::Client& client, const std::string& job) {
    auto run = client.checkpoint(job, {});
    EXPECT_TRUE(run) << run.error().message;
    return run ? wait_run(client, *run) : manager::RunInfo{};
  }
};

std::string read_cmdline(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(ADaemonResolvingTargets, SurvivesAUsersHugeCommandLineAndFindsItsTarget) {
  TestUser alice("stasis-t-pol-cmdline");
  const std::string marker = fmt::format("train{}", ::getpid());
  // Her shell's command line is 240 KB (two arguments: one may not pass 128
  // KiB) and starts like a match of the job's pattern: "train.*\.py".
  const pid_t hers = start_as(
      alice, {"/bin/sh", "-c", "sleep 600; :", marker + std::string(120 * 1024, 'x'),
              std::string(120 * 1024, 'y')});
  ASSERT_GT(hers, 0);
  KillOnExit kill_hers{hers};
  for (int i = 0; i < 500 && read_cmdline(hers).find(marker) == std::string::npos; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GT(read_cmdline(hers).size(), 240u * 1024);
  // Root's training job, whose command line names marker-model.py.
  auto workload =
      Workload::start("stasis-wl-counter", {}, dir() / (marker + "-model.py"));
  write_policy("train.yaml", "  - name: train\n    target:\n      process:\n"
                             "        cmdline: '" +
                                 marker +
                                 ".*\\.py'\n    criu:\n      leave-running: true\n");
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);

  auto info = run_job(*client, "train");
  EXPECT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();
  EXPECT_EQ(info.pid, workload.pid());
  EXPECT_EQ(workload.verify(), "");
  EXPECT_TRUE(client->list_jobs()) << log();
  EXPECT_EQ(stop_daemon(SIGTERM), 0) << log();
}

} // namespace
} // namespace stasis::test
