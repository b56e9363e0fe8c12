// stasisd end to end: Reload is all-or-nothing and reports what changed.
#include "tests/dbus/daemon_fixture.hpp"

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

class AReloadingDaemon : public DaemonTest {};

TEST_F(AReloadingDaemon, RefusesABadSetListingEveryProblemAndKeepsTheOldOne) {
  write_policy("a.yaml", pidfile_job("alpha", dir() / "a.pid"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  ASSERT_EQ(job_names(*client), std::vector<std::string>{"alpha"});

  write_policy("b.yaml",
               pidfile_job("beta", dir() / "b.pid", "retention:\n  keep-lats: 3\n"));
  write_policy("c.yaml",
               pidfile_job("gamma", dir() / "c.pid", "schedule:\n  every: soon\n"));
  auto refused = client->reload();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().name, "io.stasis.Stasis1.Error.InvalidPolicy");
  const auto& message = refused.error().message;
  EXPECT_NE(message.find((policy_dir() / "b.yaml").string() + ":7:"), std::string::npos)
      << message;
  EXPECT_NE(message.find((policy_dir() / "c.yaml").string() + ":"), std::string::npos)
      << message;
  EXPECT_EQ(job_names(*client), std::vector<std::string>{"alpha"});

  // A policy file others may write is refused as well (its hooks run as root).
  std::filesystem::remove(policy_dir() / "c.yaml");
  write_policy("b.yaml", pidfile_job("beta", dir() / "b.pid"));
  ::chmod((policy_dir() / "b.yaml").c_str(), 0666);
  auto unsafe = client->reload();
  ASSERT_FALSE(unsafe);
  EXPECT_NE(unsafe.error().message.find("writable by group or others"), std::string::npos)
      << unsafe.error().message;
  EXPECT_EQ(job_names(*client), std::vector<std::string>{"alpha"});

  ::chmod((policy_dir() / "b.yaml").c_str(), 0644);
  write_policy("a.yaml", pidfile_job("alpha", dir() / "a.pid", "description: changed\n"));
  auto changes = client->reload();
  ASSERT_TRUE(changes) << changes.error().message;
  EXPECT_EQ(changes->added, std::vector<std::string>{"beta"});
  EXPECT_EQ(changes->changed, std::vector<std::string>{"alpha"});
  EXPECT_TRUE(changes->removed.empty());
  EXPECT_EQ(job_names(*client), (std::vector<std::string>{"alpha", "beta"}));

  std::filesystem::remove(policy_dir() / "a.yaml");
  changes = client->reload();
  ASSERT_TRUE(changes);
  EXPECT_EQ(changes->removed, std::vector<std::string>{"alpha"});
}

TEST_F(AReloadingDaemon, RefusesToStartWithABadSetAndLogsEachProblem) {
  write_policy("bad.yaml",
               pidfile_job("bad", dir() / "x.pid", "criu:\n  shel-job: true\n"));
  const auto result =
      run_captured({STASISD_PATH, "--bus", "unix:path=/nonexistent", "--policy-dir",
                    policy_dir().string(), "--state-dir", state_dir().string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find((policy_dir() / "bad.yaml").string() + ":7:"),
            std::string::npos)
      << result.err;
}

} // namespace
} // namespace stasis::test
