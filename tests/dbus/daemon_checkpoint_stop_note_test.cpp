// `stasisctl checkpoint JOB` whose run leaves the target killed (the policy's
// criu.leave-running unset, CRIU's default, or --stop) says so after the id and
// prints the restore command; one that leaves it running says nothing more.
#include "tests/dbus/daemon_fixture.hpp"

#include <fmt/format.h>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

class AnOnDemandCheckpoint : public DaemonTest {};

TEST_F(AnOnDemandCheckpoint, ThatKillsItsTargetPrintsTheRestoreCommand) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  write_policy("web.yaml", pidfile_job("web", write_pidfile("web", workload.pid())));
  start_daemon();
  const auto made = stasisctl({"checkpoint", "web"});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  workload.reap_after_dump();
  std::string id = made.out;
  while (!id.empty() && id.back() == '\n') {
    id.pop_back();
  }
  ASSERT_FALSE(id.empty());
  EXPECT_NE(made.err.find(fmt::format("the process tree was stopped by the checkpoint; "
                                      "bring it back with: stasisctl restore web {}",
                                      id)),
            std::string::npos)
      << made.err;
}

TEST_F(AnOnDemandCheckpoint, ThatLeavesItsTargetRunningSaysNothingMore) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  write_policy("web.yaml", pidfile_job("web", write_pidfile("web", workload.pid()),
                                       "criu:\n  leave-running: true\n"));
  start_daemon();
  const auto made = stasisctl({"checkpoint", "web"});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  EXPECT_EQ(made.err.find("stopped by the checkpoint"), std::string::npos) << made.err;
  EXPECT_TRUE(workload.alive());
  // --stop overrides the policy: then it is said.
  const auto stopped = stasisctl({"checkpoint", "web", "--stop"});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.out << stopped.err << log();
  workload.reap_after_dump();
  EXPECT_NE(stopped.err.find("bring it back with: stasisctl restore web "),
            std::string::npos)
      << stopped.err;
}

} // namespace
} // namespace stasis::test
