// A hook of a job cannot outlive its run: what it started in a session of its
// own (setsid) or as the orphan of a double fork dies with it, also when it
// runs as a non-root user and is stopped by its timeout.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"
#include "tests/support/process.hpp"

#include <unistd.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;

class AJobsHook : public DaemonTest {};

TEST_F(AJobsHook, LeavesNoProcessBehindOnceTheRunEnds) {
  TestUser user("stasis-t-hook-escape");
  const std::string marker = fmt::format("stasis-t-hook-escape-{}", ::getpid());
  KillMarkedOnExit cleanup{marker};
  const pid_t pid = start_workload_as(user, "stasis-wl-counter", dir() / "workload");
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  // The hook's processes say when they run, in a dir the user may write.
  const fs::path notes = dir() / "notes";
  fs::create_directories(notes);
  fs::permissions(notes, fs::perms::all);
  const std::string script = fmt::format(
      "setsid bash -c ': > {1}/setsid; exec -a {0}-setsid sleep 1000' & "
      "( bash -c ': > {1}/double; exec -a {0}-double sleep 1000' & ); "
      "while [ ! -e {1}/setsid ] || [ ! -e {1}/double ]; do sleep 0.01; done; "
      "exec -a {0}-hook sleep 1000",
      marker, notes.string());
  write_policy("escape.yaml", pidfile_job("hook-escape", write_pidfile("workload", pid),
                                          "hooks:\n"
                                          "  pre-dump:\n"
                                          "    - run: [\"/bin/bash\", \"-c\", \"" +
                                              script +
                                              "\"]\n"
                                              "      timeout: 1s\n"
                                              "      user: " +
                                              user.name() + "\n"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  manager::CheckpointOptions options;
  options.leave_running = true;
  auto run = client->checkpoint("hook-escape", options);
  ASSERT_TRUE(run) << run.error().message;
  const auto info = wait_run(*client, *run);

  EXPECT_EQ(info.state, manager::RunState::Failed);
  EXPECT_NE(info.error.find("pre-dump hook failed"), std::string::npos) << info.error;
  EXPECT_NE(info.error.find("timing out"), std::string::npos) << info.error;
  EXPECT_TRUE(fs::exists(notes / "setsid")) << log();
  EXPECT_TRUE(fs::exists(notes / "double")) << log();
  EXPECT_EQ(processes_with_marker(marker), std::vector<pid_t>{}) << log();
}

} // namespace
} // namespace stasis::test
