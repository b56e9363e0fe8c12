// stasisd end to end: on-demand checkpoints and restores of real workloads
// through the D-Bus client, with real CRIU.
#include "tests/dbus/daemon_fixture.hpp"

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

class ADaemonJob : public DaemonTest {};

TEST_F(ADaemonJob, CheckpointsOnDemandAndRestoresAfterTheWorkloadDied) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  write_policy("counter.yaml",
               pidfile_job("counter", write_pidfile("counter", workload.pid())));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);

  std::vector<manager::Event> events;
  client->on_event([&events](const manager::Event& event) { events.push_back(event); });
  ASSERT_TRUE(client->subscribe());
  auto run = client->checkpoint("counter", {});
  ASSERT_TRUE(run) << run.error().message;
  auto finished = [&] {
    for (const auto& event : events) {
      if (const auto* done = std::get_if<manager::RunFinishedEvent>(&event);
          done && done->run == *run) {
        return true;
      }
    }
    return false;
  };
  auto waited = client->wait_events(finished, 30s);
  ASSERT_TRUE(waited && *waited) << log();
  auto info = wait_run(*client, *run);
  ASSERT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();
  EXPECT_EQ(info.pid, workload.pid());
  EXPECT_GT(info.logical_bytes, 0u);
  auto checkpoints = client->list_checkpoints("counter");
  ASSERT_TRUE(checkpoints);
  ASSERT_EQ(checkpoints->size(), 1u);
  EXPECT_EQ(checkpoints->front().id, info.checkpoint);

  // On-demand jobs do not leave the target running: CRIU killed it.
  workload.reap_after_dump();
  auto restore = client->restore("counter", "", {});
  ASSERT_TRUE(restore) << restore.error().message;
  auto restored = wait_run(*client, *restore);
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  EXPECT_EQ(restored.checkpoint, info.checkpoint);
  ASSERT_GT(restored.pid, 0);
  workload.adopt(restored.pid);
  EXPECT_EQ(workload.verify(), "");
  EXPECT_TRUE(workload.wait_for_ticks(workload.ticks() + 2, 5s));
}

TEST_F(ADaemonJob, AbortsTheCheckpointWhenAPreDumpHookFailsAndLeavesTheTargetRunning) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  write_policy("refused.yaml",
               pidfile_job("refused", write_pidfile("refused", workload.pid()),
                           "hooks:\n  pre-dump:\n    - run: [\"/bin/false\"]\n"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  auto run = client->checkpoint("refused", {});
  ASSERT_TRUE(run) << run.error().message;
  auto info = wait_run(*client, *run);
  EXPECT_EQ(info.state, manager::RunState::Failed) << log();
  EXPECT_NE(info.error.find("pre-dump"), std::string::npos) << info.error;
  auto checkpoints = client->list_checkpoints("refused");
  ASSERT_TRUE(checkpoints);
  EXPECT_TRUE(checkpoints->empty());
  // The tree was never touched: it still runs and checks itself.
  EXPECT_EQ(workload.verify(), "");
  EXPECT_TRUE(workload.wait_for_ticks(workload.ticks() + 2, 5s));
}

TEST_F(ADaemonJob, ReportsUnknownJobsAndCheckpoints) {
  write_policy("empty.yaml", pidfile_job("ghost", dir() / "missing.pid"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  auto none = client->checkpoint("no-such-job", {});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, dbus::ClientErrorKind::NotFound);
  auto no_checkpoint = client->restore("ghost", "", {});
  ASSERT_FALSE(no_checkpoint);
  EXPECT_EQ(no_checkpoint.error().kind, dbus::ClientErrorKind::NotFound);
  // A target that cannot be resolved fails the run with the reason.
  auto run = client->checkpoint("ghost", {});
  ASSERT_TRUE(run);
  auto info = wait_run(*client, *run);
  EXPECT_EQ(info.state, manager::RunState::Failed);
  EXPECT_NE(info.error.find("missing.pid"), std::string::npos) << info.error;
}

} // namespace
} // namespace stasis::test
