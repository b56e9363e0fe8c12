// `stasisctl log RUN`: CRIU's logs of a failed run, through the real stasisd
// and CRIU, for the callers that may see the run only.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"

#include <fstream>
#include <sys/ptrace.h>
#include <thread>
#include <unistd.h>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

// The TracerPid of /proc/PID/status (0: none, -1: unreadable).
pid_t traced_by(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("TracerPid:", 0) == 0) {
      return static_cast<pid_t>(std::stol(line.substr(10)));
    }
  }
  return -1;
}

bool wait_until(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

class StasisctlLog : public DaemonTest {};

// Forks a process that ptrace-seizes pid until it is killed: CRIU cannot
// seize a traced process, so a dump of pid fails in CRIU itself.
pid_t trace(pid_t pid) {
  const pid_t tracer = ::fork();
  if (tracer == 0) {
    if (::ptrace(PTRACE_SEIZE, pid, nullptr, nullptr) != 0) {
      ::_exit(1);
    }
    for (;;) {
      ::pause();
    }
  }
  return tracer;
}

TEST_F(StasisctlLog, ShowsCriusLogOfAFailedCheckpointToRootAndNoSuchRunToOthers) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  write_policy("logged.yaml",
               pidfile_job("logged-job", write_pidfile("logged", workload.pid()),
                           "criu: {leave-running: true}\n"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  auto run = client->checkpoint("logged-job", {});
  ASSERT_TRUE(run) << run.error().message;
  ASSERT_EQ(wait_run(*client, *run).state, manager::RunState::Succeeded) << log();

  // A successful run keeps no log.
  auto none = stasisctl({"log", *run});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("kept no CRIU log"), std::string::npos) << none.err;

  const pid_t tracer = trace(workload.pid());
  ASSERT_GT(tracer, 0);
  KillOnExit kill_tracer{tracer};
  ASSERT_TRUE(wait_until([&] { return traced_by(workload.pid()) == tracer; }, 5s));
  auto failing = client->checkpoint("logged-job", {});
  ASSERT_TRUE(failing) << failing.error().message;
  const auto failed = wait_run(*client, *failing);
  ASSERT_EQ(failed.state, manager::RunState::Failed) << log();

  auto shown = stasisctl({"log", *failing});
  ASSERT_EQ(shown.exit_code, 0) << shown.err << failed.error;
  EXPECT_NE(shown.out.find("==> dump.log <=="), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("Error"), std::string::npos) << shown.out;

  TestUser other("stasis-t-pkg-log");
  auto refused = stasisctl({"log", *failing}, other.name());
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_EQ(refused.out.find("dump.log"), std::string::npos);
  EXPECT_NE(refused.err.find("(and their runs) do not exist for you"), std::string::npos)
      << refused.err;
  auto unknown = stasisctl({"log", "r-1-1"});
  EXPECT_NE(unknown.err.find("(and their runs) do not exist for you"), std::string::npos)
      << unknown.err;
}

} // namespace
} // namespace stasis::test
