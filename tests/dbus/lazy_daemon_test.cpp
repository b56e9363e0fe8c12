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

} // namespace
} // namespace stasis::test
