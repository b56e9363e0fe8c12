// stasisctl's daemon commands against the real adaptor over a fake manager:
// output, --json, exit codes, waiting for RunFinished.
#include "tests/dbus/command.hpp"
#include "tests/dbus/service_fixture.hpp"

#include <thread>

#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

using namespace manager;
using namespace std::chrono_literals;

class Stasisctl : public ServiceFixture {
protected:
  CommandResult stasisctl(const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout = 10s) {
    std::vector<std::string> argv;
    argv.reserve(args.size() + 1);
    argv.emplace_back(STASISCTL_PATH);
    for (const auto& arg : args) {
      argv.push_back(arg);
    }
    return run_command(argv, {"STASIS_BUS_ADDRESS=" + m_bus.address()}, timeout);
  }
};

TEST_F(Stasisctl, ListsJobsAsATable) {
  const auto result = stasisctl({"jobs"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("web"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("every 15m"), std::string::npos) << result.out;
}

TEST_F(Stasisctl, ListsJobsAsJsonWithTheBusOption) {
  const auto result =
      run_command({STASISCTL_PATH, "jobs", "--json", "--bus", m_bus.address()}, {});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto jobs = nlohmann::json::parse(result.out);
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0]["name"], "web");
  EXPECT_EQ(jobs[0]["checkpoints"], 3);
  EXPECT_EQ(jobs[0]["next_run"], "2023-11-14T22:13:20Z");
  EXPECT_TRUE(jobs[0]["last_run"].is_null());
}

TEST_F(Stasisctl, ExitsWithFiveForAnUnknownJob) {
  m_manager.error = ManagerError{ErrorCode::NoSuchJob, "no job named nope"};
  const auto result = stasisctl({"status", "nope"});
  EXPECT_EQ(result.exit_code, 5);
  EXPECT_NE(result.err.find("no job named nope"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("jobs of other users (and their runs) do not exist for you"),
            std::string::npos)
      << result.err;
}

TEST_F(Stasisctl, ExitsWithFourWhenAccessIsDenied) {
  m_manager.error =
      ManagerError{ErrorCode::AccessDenied, "uid 1000 may not checkpoint web"};
  const auto result = stasisctl({"checkpoint", "web"});
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_NE(result.err.find("uid 1000 may not checkpoint web"), std::string::npos);
}

TEST_F(Stasisctl, ExitsWithThreeWithoutADaemon) {
  PrivateBus empty;
  const auto result = run_command({STASISCTL_PATH, "--bus", empty.address(), "jobs"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.err.find("is stasisd running?"), std::string::npos) << result.err;
}

TEST_F(Stasisctl, ExitsWithTwoOnAUsageError) {
  const auto result = stasisctl({"checkpoint", "web", "--shell-job"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--shell-job requires --pid"), std::string::npos)
      << result.err;
}

TEST_F(Stasisctl, PrintsTheRunIdWithNoWait) {
  const auto result = stasisctl({"checkpoint", "web", "--no-wait"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "run-1\n");
}

TEST_F(Stasisctl, WaitsForRunFinishedAndPrintsTheCheckpoint) {
  // The fake announces the end of run-1 while stasisctl waits.
  std::thread worker([this] {
    std::this_thread::sleep_for(300ms);
    m_manager.announce(RunProgressEvent{"run-1", "dumping", 5, 10});
    m_manager.announce(RunFinishedEvent{"run-1", "web", RunKind::Checkpoint,
                                        RunState::Succeeded, "ckpt-9", ""});
  });
  const auto result = stasisctl({"checkpoint", "web", "--leave-running"});
  worker.join();
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "ckpt-9\n");
  EXPECT_EQ(m_manager.last().checkpoint_options.leave_running, std::optional<bool>(true));
}

TEST_F(Stasisctl, FailsWhenTheRunFails) {
  std::thread worker([this] {
    std::this_thread::sleep_for(300ms);
    m_manager.announce(RunFinishedEvent{"run-2", "user-0", RunKind::Checkpoint,
                                        RunState::Failed, "", "criu: no such process"});
  });
  const auto result = stasisctl({"checkpoint", "--pid", "77", "--shell-job"});
  worker.join();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("failed: criu: no such process"), std::string::npos)
      << result.err;
  EXPECT_EQ(m_manager.last().checkpoint_options.shell_job, std::optional<bool>(true));
}

TEST_F(Stasisctl, FindsAFinishedRunByAskingWhenNoSignalCame) {
  // No signal at all: the client re-checks with GetRun (state succeeded).
  const auto result = stasisctl({"restore", "web", "ckpt-1", "--new-pidns"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "4242\n");
  EXPECT_EQ(m_manager.last().method, "get_run");
}

TEST_F(Stasisctl, StreamsSignalsAsJsonLines) {
  std::thread worker([this] {
    std::this_thread::sleep_for(300ms);
    m_manager.announce(CheckpointsChangedEvent{"web"});
  });
  const auto result = stasisctl({"watch", "--json"}, 1000ms);
  worker.join();
  EXPECT_EQ(result.exit_code, -1) << "watch runs until killed";
  EXPECT_EQ(result.out, "{\"job\":\"web\",\"signal\":\"CheckpointsChanged\"}\n");
}

} // namespace
} // namespace stasis::test
