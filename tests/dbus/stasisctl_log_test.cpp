// `stasisctl log RUN`: CRIU's logs of a failed run, through the real stasisd
// and CRIU, for the callers that may see the run only.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

class StasisctlLog : public DaemonTest {};

TEST_F(StasisctlLog, ShowsCriusLogOfAFailedRestoreToRootAndNoSuchRunToOthers) {
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

  // The tree still runs with its pid: CRIU cannot restore it there and fails.
  auto restore = client->restore("logged-job", "", {});
  ASSERT_TRUE(restore) << restore.error().message;
  const auto failed = wait_run(*client, *restore);
  ASSERT_EQ(failed.state, manager::RunState::Failed) << log();

  auto shown = stasisctl({"log", *restore});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("==> restore.log <=="), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("Error"), std::string::npos) << shown.out;

  TestUser other("stasis-t-pkg-log");
  auto refused = stasisctl({"log", *restore}, other.name());
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_EQ(refused.out.find("restore.log"), std::string::npos);
  EXPECT_NE(refused.err.find("(and their runs) do not exist for you"), std::string::npos)
      << refused.err;
  auto unknown = stasisctl({"log", "r-1-1"});
  EXPECT_NE(unknown.err.find("(and their runs) do not exist for you"), std::string::npos)
      << unknown.err;
  EXPECT_EQ(workload.verify(), "");
}

} // namespace
} // namespace stasis::test
