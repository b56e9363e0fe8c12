// stasisd end to end: a checkpoint restored with the D-Bus option Lazy, its
// memory served from the store by the daemon's page server.
#include "tests/dbus/daemon_fixture.hpp"

#include <thread>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

class ADaemonLazyRestore : public DaemonTest {};

TEST_F(ADaemonLazyRestore, ResumesTheWorkloadFromTheStoreWhichSelfChecks) {
  auto workload = Workload::start("stasis-wl-memory", {"--bytes", "32M"}, dir() / "mem");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  write_policy("mem.yaml", pidfile_job("mem", write_pidfile("mem", workload.pid())));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  auto run = client->checkpoint("mem", {});
  ASSERT_TRUE(run) << run.error().message;
  auto info = wait_run(*client, *run);
  ASSERT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();
  workload.reap_after_dump();

  manager::RestoreOptions options;
  options.lazy = true;
  auto restore = client->restore("mem", "", options);
  ASSERT_TRUE(restore) << restore.error().message;
  auto restored = wait_run(*client, *restore);
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  ASSERT_GT(restored.pid, 0);
  workload.adopt(restored.pid);
  EXPECT_EQ(workload.verify(), "");
  EXPECT_TRUE(workload.wait_for_ticks(workload.ticks() + 2, 5s));
  // The daemon serves the remaining pages in the background, then says so.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (log().find("pages served") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(log().find("pages served"), std::string::npos) << log();
  EXPECT_EQ(workload.verify(), "") << "after all pages are in";
}

class ADaemonStreamingCheckpoint : public DaemonTest {
protected:
  // Starts the daemon, checkpoints job and waits for the run.
  manager::RunInfo checkpoint_after_start(const std::string& job) {
    start_daemon();
    auto client = this->client();
    EXPECT_TRUE(client);
    if (!client) {
      return {};
    }
    auto run = client->checkpoint(job, {});
    EXPECT_TRUE(run) << run.error().message;
    return run ? wait_run(*client, *run) : manager::RunInfo{};
  }
};

// criu.stream-pages (and the Stream option): the pages go into the store over
// the page-server protocol; both checkpoints restore, fully and lazily.
TEST_F(ADaemonStreamingCheckpoint, StoresThePagesAsTheyArriveAndRestoresBothWays) {
  auto workload = Workload::start("stasis-wl-memory", {"--bytes", "32M"}, dir() / "mem");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  const auto pidfile = write_pidfile("mem", workload.pid());
  write_policy("mem.yaml", pidfile_job("mem", pidfile, "criu:\n  stream-pages: true") +
                               pidfile_job("plain", pidfile));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);

  // The policy's key, then the D-Bus option on a job without it.
  for (const std::string job : {"mem", "plain"}) {
    manager::CheckpointOptions options;
    options.leave_running = true;
    if (job == "plain") {
      options.stream = true;
    }
    auto run = client->checkpoint(job, options);
    ASSERT_TRUE(run) << run.error().message;
    auto info = wait_run(*client, *run);
    ASSERT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();
    EXPECT_GT(info.logical_bytes, 32U << 20)
        << job << ": the pages are in the checkpoint";
    EXPECT_NE(log().find("stored streamed checkpoint " + job + "/1"), std::string::npos)
        << log();
  }
  EXPECT_EQ(workload.verify(), "") << "the original runs on";
  workload.terminate();
  workload.reset_status(); // the copies start from the checkpoint's counts

  manager::RestoreOptions full;
  auto restore = client->restore("mem", "", full);
  ASSERT_TRUE(restore) << restore.error().message;
  auto restored = wait_run(*client, *restore);
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  workload.adopt(restored.pid);
  ASSERT_TRUE(workload.wait_for_ticks(1, 10s));
  EXPECT_EQ(workload.verify(), "") << "fully restored from a streamed checkpoint";
  workload.terminate();
  workload.reset_status();

  manager::RestoreOptions lazy;
  lazy.lazy = true;
  restore = client->restore("plain", "", lazy);
  ASSERT_TRUE(restore) << restore.error().message;
  restored = wait_run(*client, *restore);
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  workload.adopt(restored.pid);
  ASSERT_TRUE(workload.wait_for_ticks(1, 10s));
  EXPECT_EQ(workload.verify(), "") << "lazily restored from a streamed checkpoint";
}

// Without leave-running, a streamed checkpoint is stored before the tree goes:
// when storing fails, the tree runs on. (A post-dump hook puts a stray
// pagemap into the images dir, which the commit refuses.)
TEST_F(ADaemonStreamingCheckpoint, ResumesTheTreeWhenTheCheckpointCannotBeStored) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  const std::string stray = "pagemap-" + std::to_string(workload.pid()) + ".img";
  write_policy("c.yaml",
               pidfile_job("c", write_pidfile("c", workload.pid()),
                           "criu:\n  stream-pages: true\n  leave-running: false\n"
                           "hooks:\n  post-dump:\n    - run: [\"/bin/sh\", \"-c\", "
                           "\"touch \\\"$STASIS_IMAGES_DIR/" +
                               stray + "\\\"\"]\n"));
  const auto info = checkpoint_after_start("c");
  EXPECT_EQ(info.state, manager::RunState::Failed) << log();
  EXPECT_NE(info.error.find("the tree runs on"), std::string::npos) << info.error;
  EXPECT_EQ(workload.verify(), "") << "the target runs on after the failed run";
  auto checkpoints = client()->list_checkpoints("c");
  ASSERT_TRUE(checkpoints) << checkpoints.error().message;
  EXPECT_TRUE(checkpoints->empty()) << "nothing half-stored";
}

// A job that names another host's page server is refused by its run, with the
// reason, instead of being checkpointed some other way.
TEST_F(ADaemonStreamingCheckpoint, RefusesAJobThatSendsItsPagesToAnotherHost) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  write_policy("c.yaml",
               pidfile_job("c", write_pidfile("c", workload.pid()),
                           "criu:\n  page-server: {address: 192.0.2.1, port: 2700}"));
  const auto info = checkpoint_after_start("c");
  EXPECT_EQ(info.state, manager::RunState::Failed);
  EXPECT_NE(info.error.find("criu.page-server"), std::string::npos) << info.error;
  EXPECT_EQ(workload.verify(), "") << "the target is untouched";
}

} // namespace
} // namespace stasis::test
