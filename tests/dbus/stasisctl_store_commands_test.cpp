// stasisctl's store commands without --state-dir go through stasisd: list,
// show, pin, delete (refused while pinned), prune and verify, with the
// daemon's access checks for users the job does not name.
#include "tests/dbus/daemon_fixture.hpp"

#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class StasisctlStoreCommands : public DaemonTest {};

TEST_F(StasisctlStoreCommands, GoThroughTheDaemonWithoutAStateDir) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 10s));
  write_policy("kept.yaml", pidfile_job("kept", write_pidfile("kept", workload.pid()),
                                        "criu:\n  leave-running: true\n"
                                        "retention:\n  keep-last: 1\n"));
  start_daemon();
  for (int i = 0; i < 2; ++i) {
    auto made = stasisctl({"checkpoint", "kept"});
    ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  }

  auto listed = stasisctl({"--json", "checkpoints", "kept"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto items = json::parse(listed.out);
  ASSERT_GE(items.size(), 1u) << listed.out;
  const std::string oldest = items.front()["id"].get<std::string>();

  auto shown = stasisctl({"show", "kept", oldest});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("checkpoint kept/" + oldest), std::string::npos) << shown.out;
  EXPECT_EQ(stasisctl({"show", "kept", "999"}).exit_code, 5);

  EXPECT_EQ(stasisctl({"verify", "kept"}).exit_code, 0);
  EXPECT_EQ(stasisctl({"pin", "kept", oldest}).exit_code, 0);
  auto refused = stasisctl({"delete", "kept", oldest});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("pinned"), std::string::npos) << refused.err;
  auto dry = stasisctl({"prune", "kept", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("dry run"), std::string::npos) << dry.out;
  EXPECT_EQ(stasisctl({"prune", "kept", "--keep-last", "3"}).exit_code, 2);
  EXPECT_EQ(stasisctl({"unpin", "kept", oldest}).exit_code, 0);
  EXPECT_EQ(stasisctl({"delete", "kept", oldest}).exit_code, 0);

  // For a user the job does not name, the daemon has no such job.
  auto denied = stasisctl({"checkpoints", "kept"}, "daemon");
  EXPECT_EQ(denied.exit_code, 5) << denied.out << denied.err;
}

} // namespace
} // namespace stasis::test
