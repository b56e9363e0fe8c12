// stasisd's policy files against a local user who controls an entry on the
// way to one of them: she flips a symlink, or swaps two directories, between
// root's file and her own while root reloads again and again. Her YAML must
// never be loaded and her hook (it would run as root) never run; each reload
// leaves the file out, naming the entry to fix, and the jobs loaded before stay.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"

#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int k_reloads = 300;

class AnAttackerOnThePolicyPath : public DaemonTest {
protected:
  // Root's own policy, which stasisd starts with.
  void start_with_roots_policy() {
    write_policy("base.yaml", pidfile_job("base", dir() / "none.pid"));
    start_daemon();
  }

  // Her directory, reached from root's policy directory through a symlink.
  fs::path make_her_dir(const TestUser& user) {
    const fs::path her = dir() / "alice";
    fs::create_directories(her);
    EXPECT_EQ(::chown(her.c_str(), user.uid(), user.gid()), 0);
    return her;
  }

  // A policy file: root's (job "site") or hers (job "evil", whose on-failure
  // hook would run as root and make marker()).
  void write_file(const fs::path& path, bool hers, const TestUser& user) {
    std::ofstream out(path);
    if (hers) {
      out << "version: 1\njobs:\n  - name: evil\n    target: {pid: 2147483}\n"
          << "    hooks:\n      on-failure:\n        - run: [\"/usr/bin/touch\", \""
          << marker().string() << "\"]\n";
    } else {
      out << "version: 1\njobs:\n" << pidfile_job("site", dir() / "none.pid");
    }
    out.close();
    ::chmod(path.c_str(), 0644);
    if (hers) {
      EXPECT_EQ(::chown(path.c_str(), user.uid(), user.gid()), 0);
    }
  }

  fs::path marker() const { return dir() / "pwned"; }

  struct Outcome {
    int refused = 0;
    int loaded_hers = 0;
    std::string first_refusal;
  };

  // Reloads k_reloads times; stops at the first reload that loads her job,
  // after running it (its hook runs as root).
  Outcome reload_while_attacked(dbus::Client& client) {
    Outcome outcome;
    for (int i = 0; i < k_reloads && outcome.loaded_hers == 0; ++i) {
      // A refused file is left out of the reload and reported in Problems.
      auto reloaded = client.reload();
      if (!reloaded) {
        ADD_FAILURE() << "the reload failed: " << reloaded.error().message;
        continue;
      }
      if (!reloaded->problems.empty()) {
        ++outcome.refused;
        if (outcome.first_refusal.empty()) {
          outcome.first_refusal = fmt::format("{}", fmt::join(reloaded->problems, "\n"));
        }
      }
      auto jobs = client.list_jobs();
      for (const auto& job : jobs ? *jobs : std::vector<manager::JobInfo>{}) {
        if (job.name == "evil") {
          ++outcome.loaded_hers;
          if (auto run = client.checkpoint("evil", {})) {
            wait_run(client, *run);
          }
        }
      }
    }
    return outcome;
  }

  // What every refused reload must say, and what must hold after the attack.
  void expect_refused_every_time(const Outcome& outcome, dbus::Client& client,
                                 const fs::path& her, const TestUser& user) {
    EXPECT_EQ(outcome.loaded_hers, 0) << log();
    EXPECT_FALSE(fs::exists(marker())) << "her hook ran as root";
    EXPECT_EQ(outcome.refused, k_reloads);
    EXPECT_NE(outcome.first_refusal.find(
                  fmt::format("directory {} is owned by uid {} ({}), not root",
                              her.string(), user.uid(), user.name())),
              std::string::npos)
        << outcome.first_refusal;
    EXPECT_NE(outcome.first_refusal.find("(fix: chown root " + her.string() + ")"),
              std::string::npos)
        << outcome.first_refusal;
    auto jobs = client.list_jobs();
    ASSERT_TRUE(jobs);
    ASSERT_EQ(jobs->size(), 1u);
    EXPECT_EQ(jobs->front().name, "base");
  }
};

TEST_F(AnAttackerOnThePolicyPath, NeverGetsHerYamlLoadedByFlippingASymlink) {
  TestUser alice("stasis-t-pol-flip");
  start_with_roots_policy();
  auto client = this->client();
  ASSERT_TRUE(client);
  const fs::path her = make_her_dir(alice);
  const fs::path safe = dir() / "site.yaml";
  write_file(safe, false, alice);
  write_file(her / "evil.yaml", true, alice);
  // Root's policy names a file through her symlink, which she flips between
  // root's file and her own.
  fs::create_symlink(her / "current", policy_dir() / "site.yaml");
  const std::string link = (her / "current").string();
  const std::string next = (her / "next").string();
  const std::string targets[2] = {safe.string(), (her / "evil.yaml").string()};
  const pid_t flipper = fork_as(alice, [&] {
    for (unsigned i = 0;; ++i) {
      ::unlink(next.c_str());
      if (::symlink(targets[i % 2].c_str(), next.c_str()) == 0) {
        ::rename(next.c_str(), link.c_str());
      }
    }
  });
  ASSERT_GT(flipper, 0);
  KillOnExit stop_flipper{flipper};

  expect_refused_every_time(reload_while_attacked(*client), *client, her, alice);
}

TEST_F(AnAttackerOnThePolicyPath, NeverGetsHerYamlLoadedBySwappingDirectoriesInHerOwn) {
  TestUser alice("stasis-t-pol-swap");
  start_with_roots_policy();
  auto client = this->client();
  ASSERT_TRUE(client);
  const fs::path her = make_her_dir(alice);
  // Root's directory (in hers) with root's file, and her directory with hers.
  fs::create_directories(her / "team");
  write_file(her / "team" / "site.yaml", false, alice);
  fs::create_directories(her / "mine");
  ASSERT_EQ(::chown((her / "mine").c_str(), alice.uid(), alice.gid()), 0);
  write_file(her / "mine" / "site.yaml", true, alice);
  fs::create_symlink(her / "team" / "site.yaml", policy_dir() / "site.yaml");
  const std::string team = (her / "team").string();
  const std::string mine = (her / "mine").string();
  const pid_t swapper = fork_as(alice, [&] {
    for (;;) {
      ::renameat2(AT_FDCWD, team.c_str(), AT_FDCWD, mine.c_str(), RENAME_EXCHANGE);
    }
  });
  ASSERT_GT(swapper, 0);
  KillOnExit stop_swapper{swapper};

  expect_refused_every_time(reload_while_attacked(*client), *client, her, alice);
}

TEST_F(AnAttackerOnThePolicyPath,
       IsNamedWhenStasisdStartsWithAPolicyThroughHerDirectory) {
  TestUser alice("stasis-t-pol-start");
  const fs::path her = make_her_dir(alice);
  write_file(dir() / "site.yaml", false, alice);
  fs::create_symlink(dir() / "site.yaml", her / "site.yaml");
  fs::create_symlink(her / "site.yaml", policy_dir() / "site.yaml");
  write_policy("base.yaml", pidfile_job("base", dir() / "none.pid"));
  // stasisd starts degraded: root's own file loads, the one through her
  // directory is left out, named in the log and in GetStatus.
  start_daemon();
  const auto refusal = fmt::format("{}: directory {} is owned by uid {} ({}), not root",
                                   (policy_dir() / "site.yaml").string(), her.string(),
                                   alice.uid(), alice.name());
  EXPECT_NE(log().find(refusal), std::string::npos) << log();
  auto client = this->client();
  ASSERT_TRUE(client);
  auto jobs = client->list_jobs();
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ(jobs->front().name, "base");
  auto status = client->status();
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->bad_policy_files, 1u);
  ASSERT_EQ(status->policy_problems.size(), 1u);
  EXPECT_NE(status->policy_problems.front().find(refusal), std::string::npos)
      << status->policy_problems.front();
}

} // namespace
} // namespace stasis::test
