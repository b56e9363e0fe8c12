// stasisd resolving the targets of root's jobs against what local users
// control: their command lines (a 240 KB one must neither crash stasisd nor
// hide the real target) and pidfiles they can write (which may only name
// their own processes, as systemd's PIDFile= rule).
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
  // Runs body as the user (see fork_as) and waits until it is done.
  static void run_as(const TestUser& user, const std::function<void()>& body) {
    const pid_t pid = fork_as(user, body);
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_pid_gone(pid, 10s));
  }

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
  // KiB) and starts like a match of the job's pattern: "train.*\.py". It
  // stops itself (no child of hers outlives the test).
  const pid_t hers = start_as(alice, {"/bin/sh", "-c", "kill -STOP $$",
                                      marker + std::string(120 * 1024, 'x'),
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

TEST_F(ADaemonResolvingTargets, LetsAPidfileAUserCanChangeNameOnlyHerOwnProcesses) {
  TestUser alice("stasis-t-pol-pidfile");
  auto roots = Workload::start("stasis-wl-counter", {}, dir() / "root-workload");
  const pid_t hers =
      start_workload_as(alice, "stasis-wl-counter", dir() / "her-workload");
  ASSERT_GT(hers, 0);
  KillOnExit kill_hers{hers};
  // Root's job reads its pidfile from a directory of hers.
  const fs::path her_dir = dir() / "alice-run";
  fs::create_directories(her_dir);
  ASSERT_EQ(::chown(her_dir.c_str(), alice.uid(), alice.gid()), 0);
  const fs::path pidfile = her_dir / "app.pid";
  write_policy("app.yaml", pidfile_job("app", pidfile, "criu:\n  leave-running: true\n"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  const std::string expected_refusal =
      fmt::format("pidfile {} can be changed by uid {} (owner of {}), so it may only "
                  "name a process of that user",
                  pidfile.string(), alice.uid(), her_dir.string());

  // She writes the pid of root's process.
  const std::string path = pidfile.string();
  const std::string roots_pid = fmt::format("{}\n", roots.pid());
  run_as(alice, [&] {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    (void)!::write(fd, roots_pid.data(), roots_pid.size());
    ::close(fd);
  });
  auto refused = run_job(*client, "app");
  EXPECT_EQ(refused.state, manager::RunState::Failed) << log();
  EXPECT_NE(refused.error.find(expected_refusal), std::string::npos) << refused.error;

  // She links it to root's own pidfile of root's process instead.
  const std::string roots_pidfile = write_pidfile("root", roots.pid()).string();
  run_as(alice, [&] {
    ::unlink(path.c_str());
    (void)!::symlink(roots_pidfile.c_str(), path.c_str());
  });
  refused = run_job(*client, "app");
  EXPECT_EQ(refused.state, manager::RunState::Failed) << log();
  EXPECT_NE(refused.error.find(expected_refusal), std::string::npos) << refused.error;

  // Root's process was never touched.
  auto checkpoints = client->list_checkpoints("app");
  ASSERT_TRUE(checkpoints);
  EXPECT_TRUE(checkpoints->empty());
  EXPECT_EQ(roots.verify(), "");

  // Her own process: checkpointed, as her.
  const std::string hers_pid = fmt::format("{}\n", hers);
  run_as(alice, [&] {
    ::unlink(path.c_str());
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    (void)!::write(fd, hers_pid.data(), hers_pid.size());
    ::close(fd);
  });
  auto done = run_job(*client, "app");
  EXPECT_EQ(done.state, manager::RunState::Succeeded) << done.error << "\n" << log();
  EXPECT_EQ(done.pid, hers);
  EXPECT_NE(log().find(fmt::format("as uid {}", alice.uid())), std::string::npos);
  EXPECT_EQ(verify_workload(hers, dir() / "her-workload" / "status"), "");
}

} // namespace
} // namespace stasis::test
