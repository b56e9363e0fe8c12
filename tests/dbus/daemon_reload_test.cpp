// stasisd end to end: a bad policy file is left out (at start and on Reload)
// while the good ones load; Reload reports what changed and what was left out.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"

#include <fstream>
#include <sys/stat.h>

namespace stasis::test {
namespace {

std::vector<std::string> job_names(dbus::Client& client) {
  std::vector<std::string> names;
  for (const auto& job : client.list_jobs().value_or(std::vector<manager::JobInfo>{})) {
    names.push_back(job.name);
  }
  return names;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) {
    text += line + "\n";
  }
  return text;
}

class AReloadingDaemon : public DaemonTest {};

TEST_F(AReloadingDaemon, LeavesOutEachBadFileReportingItAndKeepsTheRest) {
  write_policy("a.yaml", pidfile_job("alpha", dir() / "a.pid"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  ASSERT_EQ(job_names(*client), std::vector<std::string>{"alpha"});

  write_policy("b.yaml",
               pidfile_job("beta", dir() / "b.pid", "retention:\n  keep-lats: 3\n"));
  write_policy("c.yaml",
               pidfile_job("gamma", dir() / "c.pid", "schedule:\n  every: soon\n"));
  write_policy("d.yaml", pidfile_job("delta", dir() / "d.pid"));
  auto partial = client->reload();
  ASSERT_TRUE(partial) << partial.error().message;
  EXPECT_EQ(partial->added, std::vector<std::string>{"delta"});
  const auto problems = joined(partial->problems);
  EXPECT_NE(problems.find((policy_dir() / "b.yaml").string() + ":7:"), std::string::npos)
      << problems;
  EXPECT_NE(problems.find((policy_dir() / "c.yaml").string() + ":"), std::string::npos)
      << problems;
  EXPECT_EQ(job_names(*client), (std::vector<std::string>{"alpha", "delta"}));

  // A file that goes bad keeps its jobs as they were.
  write_policy("a.yaml", pidfile_job("alpha", dir() / "a.pid", "descriptoin: typo\n"));
  auto kept = client->reload();
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_TRUE(kept->removed.empty());
  EXPECT_NE(joined(kept->problems).find((policy_dir() / "a.yaml").string() + ":"),
            std::string::npos);
  EXPECT_EQ(job_names(*client), (std::vector<std::string>{"alpha", "delta"}));

  // A policy file others may write is left out as well (its hooks run as root).
  std::filesystem::remove(policy_dir() / "c.yaml");
  write_policy("a.yaml", pidfile_job("alpha", dir() / "a.pid", "description: changed\n"));
  write_policy("b.yaml", pidfile_job("beta", dir() / "b.pid"));
  ::chmod((policy_dir() / "b.yaml").c_str(), 0666);
  auto unsafe = client->reload();
  ASSERT_TRUE(unsafe) << unsafe.error().message;
  EXPECT_NE(joined(unsafe->problems).find("writable by group or others"),
            std::string::npos)
      << joined(unsafe->problems);
  EXPECT_EQ(unsafe->changed, std::vector<std::string>{"alpha"});
  EXPECT_EQ(job_names(*client), (std::vector<std::string>{"alpha", "delta"}));

  ::chmod((policy_dir() / "b.yaml").c_str(), 0644);
  auto changes = client->reload();
  ASSERT_TRUE(changes) << changes.error().message;
  EXPECT_EQ(changes->added, std::vector<std::string>{"beta"});
  EXPECT_TRUE(changes->problems.empty()) << joined(changes->problems);
  EXPECT_EQ(job_names(*client), (std::vector<std::string>{"alpha", "beta", "delta"}));
  auto status = client->status();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->bad_policy_files, 0u);

  std::filesystem::remove(policy_dir() / "a.yaml");
  changes = client->reload();
  ASSERT_TRUE(changes);
  EXPECT_EQ(changes->removed, std::vector<std::string>{"alpha"});
}

TEST_F(AReloadingDaemon, StartsDegradedWithABadFileAndReportsItInStatus) {
  write_policy("bad.yaml",
               pidfile_job("bad", dir() / "x.pid", "criu:\n  shel-job: true\n"));
  write_policy("good.yaml", pidfile_job("good", dir() / "y.pid"));
  start_daemon();
  const auto where = (policy_dir() / "bad.yaml").string() + ":7:";
  EXPECT_NE(log().find(where), std::string::npos) << log();
  auto client = this->client();
  ASSERT_TRUE(client);
  EXPECT_EQ(job_names(*client), std::vector<std::string>{"good"});
  auto status = client->status();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->bad_policy_files, 1u);
  EXPECT_NE(joined(status->policy_problems).find(where), std::string::npos);

  const auto shown = stasisctl({"status"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("DEGRADED: 1 policy file(s) left out"), std::string::npos)
      << shown.out;
  EXPECT_NE(shown.out.find(where), std::string::npos) << shown.out;

  // Other users learn that a file was left out, not what it says.
  TestUser user("stasis-t-front-degraded");
  const auto theirs = stasisctl({"status"}, user.name());
  EXPECT_EQ(theirs.exit_code, 0) << theirs.err;
  EXPECT_NE(theirs.out.find("DEGRADED: 1 policy file(s) left out"), std::string::npos)
      << theirs.out;
  EXPECT_EQ(theirs.out.find("bad.yaml"), std::string::npos) << theirs.out;
}

TEST_F(AReloadingDaemon, StartsWithAWarningWhenThePolicyDirectoryIsMissing) {
  std::filesystem::remove_all(policy_dir());
  start_daemon();
  EXPECT_NE(log().find("does not exist"), std::string::npos) << log();
  EXPECT_EQ(log().find("invalid"), std::string::npos) << log();
  auto client = this->client();
  ASSERT_TRUE(client);
  EXPECT_TRUE(job_names(*client).empty());
  auto status = client->status();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->bad_policy_files, 0u);
}

TEST_F(AReloadingDaemon, HasASecondStasisdOnTheBusExitBeforeItRunsAnything) {
  write_policy("often.yaml",
               pidfile_job("often", dir() / "none.pid", "schedule:\n  every: 1s\n"));
  start_daemon();
  // Its own state dir: only the bus name can stop it.
  const auto second_state = dir() / "second-state";
  const auto second =
      run_captured({STASISD_PATH, "--bus", bus_address(), "--policy-dir",
                    policy_dir().string(), "--state-dir", second_state.string()});
  EXPECT_EQ(second.exit_code, 1) << second.out << second.err;
  EXPECT_NE(second.err.find("cannot own io.stasis.Stasis1"), std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find("is another stasisd running?"), std::string::npos)
      << second.err;
  // No manager started: no store, no history, no scheduled dump.
  EXPECT_FALSE(std::filesystem::exists(second_state)) << second.err;
  EXPECT_EQ(second.err.find("often"), std::string::npos) << second.err;
}

} // namespace
} // namespace stasis::test
