// Settling the runs a dead stasisd left unfinished, with real processes: the
// test's own (alive), a child it has reaped (gone), and a wrong identity
// (a pid taken by another process since).
#include "manager/interrupted_runs.hpp"
#include "manager/process_identity.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

using namespace std::chrono_literals;

const TimePoint k_now = TimePoint(std::chrono::seconds(1'700'000'000));

RunInfo unfinished(RunKind kind, RunState state, pid_t pid = 0,
                   std::string identity = "") {
  RunInfo run;
  run.id = "r-1";
  run.job = "web";
  run.kind = kind;
  run.state = state;
  run.pid = pid;
  run.pid_identity = std::move(identity);
  run.started = k_now - 1min;
  return run;
}

// A pid that existed and is gone now (a child, reaped).
pid_t gone_pid() {
  const pid_t child = ::fork();
  if (child == 0) {
    ::_exit(0);
  }
  ::waitpid(child, nullptr, 0);
  return child;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(AProcessIdentity, TellsARunningProcessFromAGoneOneAndAReplacedOne) {
  const auto self = process_identity(::getpid());
  EXPECT_FALSE(self.empty());
  EXPECT_EQ(self, process_identity(::getpid()));
  EXPECT_EQ(pid_fate(::getpid(), self), PidFate::Same);
  EXPECT_EQ(pid_fate(::getpid(), "another-boot/1"), PidFate::Replaced);
  EXPECT_EQ(pid_fate(::getpid(), ""), PidFate::Unknown);
  const pid_t gone = gone_pid();
  EXPECT_EQ(process_identity(gone), "");
  EXPECT_EQ(pid_fate(gone, self), PidFate::Gone);
  EXPECT_FALSE(process_stopped(::getpid()));
}

TEST(AnUnfinishedRun, IsCancelledWhenItWasStillQueued) {
  auto run = unfinished(RunKind::Checkpoint, RunState::Queued);
  settle_unfinished_run(run, k_now, {});
  EXPECT_EQ(run.state, RunState::Cancelled);
  EXPECT_EQ(run.error, "stasisd stopped before the run started");
  EXPECT_EQ(run.finished, k_now);
}

TEST(AnUnfinishedRun, IsInterruptedWithTheRestoredTreeStillRunning) {
  auto run = unfinished(RunKind::Restore, RunState::Running, ::getpid(),
                        process_identity(::getpid()));
  settle_unfinished_run(run, k_now, {});
  EXPECT_EQ(run.state, RunState::Interrupted);
  EXPECT_EQ(run.pid, ::getpid());
  EXPECT_TRUE(contains(run.error, fmt::format("restored the tree as pid {}, which is "
                                              "still that tree and runs",
                                              ::getpid())))
      << run.error;
}

TEST(AnUnfinishedRun, IsInterruptedWithTheRestoredTreeGone) {
  const pid_t gone = gone_pid();
  auto run = unfinished(RunKind::Restore, RunState::Running, gone, "boot/1");
  settle_unfinished_run(run, k_now, {});
  EXPECT_EQ(run.state, RunState::Interrupted);
  EXPECT_TRUE(contains(run.error, "which has exited since")) << run.error;
}

TEST(AnUnfinishedRun, DoesNotTakeALaterProcessWithThePidForTheRestoredTree) {
  auto run = unfinished(RunKind::Restore, RunState::Running, ::getpid(), "boot/1");
  settle_unfinished_run(run, k_now, {});
  EXPECT_EQ(run.state, RunState::Interrupted);
  EXPECT_TRUE(contains(run.error, "that tree is gone and pid")) << run.error;
}

TEST(AnUnfinishedRun, SaysWhenTheRestoreStoppedBeforeCriuReportedATree) {
  auto run = unfinished(RunKind::Restore, RunState::Running);
  settle_unfinished_run(run, k_now, {});
  EXPECT_EQ(run.state, RunState::Interrupted);
  EXPECT_TRUE(contains(run.error, "before CRIU reported a restored tree")) << run.error;
}

TEST(AnUnfinishedRun, NamesTheCheckpointAnInterruptedCheckpointRunStored) {
  auto run = unfinished(RunKind::Checkpoint, RunState::Running);
  TimePoint asked_since{};
  settle_unfinished_run(run, k_now, [&](const std::string& job, TimePoint since) {
    EXPECT_EQ(job, "web");
    asked_since = since;
    return std::optional<std::string>("7");
  });
  EXPECT_EQ(run.state, RunState::Interrupted);
  EXPECT_EQ(asked_since, k_now - 1min);
  EXPECT_EQ(run.checkpoint, "7");
  EXPECT_TRUE(contains(run.error, "after it stored checkpoint 7")) << run.error;
}

TEST(AnUnfinishedRun, SaysWhenAnInterruptedCheckpointRunStoredNothing) {
  auto run = unfinished(RunKind::Checkpoint, RunState::Running);
  settle_unfinished_run(run, k_now,
                        [](const std::string&, TimePoint) { return std::nullopt; });
  EXPECT_EQ(run.state, RunState::Interrupted);
  EXPECT_EQ(run.checkpoint, "");
  EXPECT_TRUE(contains(run.error, "before it stored a checkpoint")) << run.error;
}

} // namespace
} // namespace stasis::manager
