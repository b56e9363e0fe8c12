// du, export, import, fsck and gc without --state-dir go through stasisd:
// the daemon's store and access checks, files opened by stasisctl with the
// caller's own rights (stasisd is only sent the descriptor).
#include "dbus/client.hpp"
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"
#include "tests/support/process.hpp"

#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

std::string text_of(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

class StasisctlThroughTheDaemon : public DaemonTest {
protected:
  // A job "web" on a counter with one checkpoint; `access` lines for it.
  void start_with_one_checkpoint(const std::string& access = "") {
    m_workload = std::make_unique<Workload>(
        Workload::start("stasis-wl-counter", {}, dir() / "counter"));
    ASSERT_TRUE(m_workload->wait_for_ticks(2, 10s));
    write_policy("web.yaml", pidfile_job("web", write_pidfile("web", m_workload->pid()),
                                         "criu:\n  leave-running: true\n" + access));
    start_daemon();
    auto made = stasisctl({"checkpoint", "web"});
    ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  }

  // A directory the user may write.
  fs::path home_of(const TestUser& user) {
    const auto home = dir() / user.name();
    fs::create_directories(home);
    EXPECT_EQ(::chown(home.c_str(), user.uid(), user.gid()), 0);
    return home;
  }

  std::unique_ptr<Workload> m_workload;
};

TEST_F(StasisctlThroughTheDaemon, ShowsTheDaemonsStoreInDuInsteadOfAnEmptyDefaultOne) {
  start_with_one_checkpoint();
  auto du = stasisctl({"--json", "du"});
  ASSERT_EQ(du.exit_code, 0) << du.err;
  const auto usage = json::parse(du.out);
  ASSERT_EQ(usage["jobs"].size(), 1u) << du.out;
  EXPECT_EQ(usage["jobs"][0]["job"], "web");
  EXPECT_GT(usage["jobs"][0]["logical_bytes"].get<std::uint64_t>(), 0u) << du.out;
  EXPECT_GT(usage["pack_bytes"].get<std::uint64_t>(), 0u) << du.out;
}

TEST_F(StasisctlThroughTheDaemon, ExportsAndImportsAsRootWithoutAStateDir) {
  start_with_one_checkpoint();
  const auto file = dir() / "web.stasis";
  auto exported = stasisctl({"export", "web", "latest", file.string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.err << log();
  ASSERT_TRUE(fs::exists(file));
  EXPECT_GT(fs::file_size(file), 0u);
  // No temp file is left next to it.
  for (const auto& entry : fs::directory_iterator(dir())) {
    EXPECT_EQ(entry.path().filename().string().find(".stasis-export-"), std::string::npos)
        << entry.path();
  }
  auto imported = stasisctl({"--json", "import", file.string(), "--job", "web"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err << log();
  EXPECT_EQ(json::parse(imported.out)["checkpoint"], "2") << imported.out;
  auto listed = stasisctl({"--json", "checkpoints", "web"});
  EXPECT_EQ(json::parse(listed.out).size(), 2u) << listed.out;

  // Streamed to standard output, the same bytes.
  auto streamed = stasisctl({"export", "web", "1", "-"});
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  EXPECT_EQ(streamed.out.size(), fs::file_size(file));

  auto checked = stasisctl({"--json", "fsck"});
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_TRUE(json::parse(checked.out)["ok"].get<bool>()) << checked.out;
  EXPECT_EQ(stasisctl({"gc"}).exit_code, 0);
}

TEST_F(StasisctlThroughTheDaemon, NeverLetsRestoreAccessExportTheImages) {
  TestUser carol("stasis-t-xfer-carol");
  start_with_one_checkpoint(
      fmt::format("access:\n  restore: {{users: [{}]}}\n", carol.name()));
  const auto home = home_of(carol);
  auto refused =
      stasisctl({"export", "web", "latest", (home / "w.stasis").string()}, carol.name());
  EXPECT_EQ(refused.exit_code, 4) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("export"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(home / "w.stasis"));
  // Nor are the store's totals or root's maintenance hers.
  auto du = stasisctl({"--json", "du"}, carol.name());
  ASSERT_EQ(du.exit_code, 0) << du.err;
  EXPECT_FALSE(json::parse(du.out).contains("pack_bytes")) << du.out;
  EXPECT_EQ(stasisctl({"fsck"}, carol.name()).exit_code, 4);
  EXPECT_EQ(stasisctl({"gc"}, carol.name()).exit_code, 4);
}

TEST_F(StasisctlThroughTheDaemon, ExportsForAGrantedUserIntoAFileSheOwns) {
  TestUser dave("stasis-t-xfer-dave");
  start_with_one_checkpoint(
      fmt::format("access:\n  export: {{users: [{}]}}\n", dave.name()));
  const auto home = home_of(dave);
  const auto file = home / "w.stasis";
  auto exported = stasisctl({"export", "web", "latest", file.string()}, dave.name());
  ASSERT_EQ(exported.exit_code, 0) << exported.err << log();
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, dave.uid());
  // A path she may not write is never written for her.
  auto elsewhere = stasisctl(
      {"export", "web", "latest", (dir() / "root-only" / "x").string()}, dave.name());
  EXPECT_NE(elsewhere.exit_code, 0);
  EXPECT_FALSE(fs::exists(dir() / "root-only" / "x"));
}

TEST_F(StasisctlThroughTheDaemon, ImportsAUsersFileOnlyIntoHerOwnJob) {
  TestUser erin("stasis-t-xfer-erin");
  start_with_one_checkpoint(
      fmt::format("access:\n  list: {{users: [{}]}}\n", erin.name()));
  const auto home = home_of(erin);
  const auto file = home / "w.stasis";
  ASSERT_EQ(stasisctl({"export", "web", "latest", file.string()}).exit_code, 0);
  ASSERT_EQ(::chown(file.c_str(), erin.uid(), erin.gid()), 0);

  auto into_policy_job =
      stasisctl({"import", file.string(), "--job", "web"}, erin.name());
  EXPECT_EQ(into_policy_job.exit_code, 4) << into_policy_job.err;
  const std::string own = fmt::format("user-{}", erin.uid());
  auto into_own =
      stasisctl({"--json", "import", file.string(), "--job", own}, erin.name());
  ASSERT_EQ(into_own.exit_code, 0) << into_own.err << log();
  auto listed = stasisctl({"--json", "checkpoints", own}, erin.name());
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(json::parse(listed.out).size(), 1u) << listed.out;

  // A file she cannot read is not read for her by stasisd.
  ASSERT_EQ(::chown(file.c_str(), 0, 0), 0);
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  auto unreadable = stasisctl({"import", file.string(), "--job", own}, erin.name());
  EXPECT_EQ(unreadable.exit_code, 5) << unreadable.err;
  EXPECT_NE(unreadable.err.find("cannot open"), std::string::npos) << unreadable.err;
}

// The attack: an import whose pipe never sends its bytes (nor its end). Before,
// stasisd read it under the store's exclusive lock: every checkpoint of the
// host waited for her forever. Now the bytes go to a file of stasisd's first.
TEST_F(StasisctlThroughTheDaemon,
       KeepsCheckpointingWhileAUsersImportWaitsForBytesThatNeverCome) {
  TestUser frank("stasis-t-xfer-frank");
  start_with_one_checkpoint();
  const auto home = home_of(frank);
  const auto run_file = home / "run";
  const std::string own = fmt::format("user-{}", frank.uid());
  const std::string bus = bus_address();
  const pid_t importer = fork_as(frank, [&] {
    int fds[2];
    if (::pipe(fds) != 0) {
      ::_exit(1);
    }
    auto client = dbus::Client::connect(bus);
    if (!client) {
      ::_exit(2);
    }
    auto run = (*client)->import_checkpoint(fds[0], own);
    const std::string text = run ? *run : "error: " + run.error().message;
    const int out = ::open(run_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    (void)!::write(out, text.data(), text.size());
    ::close(out);
    ::sleep(120); // holding the write end open, sending nothing
    ::_exit(0);
  });
  ASSERT_GT(importer, 0);
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{importer};
  std::string run;
  for (int i = 0; i < 200 && run.empty(); ++i) {
    std::this_thread::sleep_for(50ms);
    run = text_of(run_file);
  }
  ASSERT_EQ(run.rfind("r-", 0), 0u) << run << log();
  std::this_thread::sleep_for(500ms); // the import run has started reading

  auto made = stasisctl({"checkpoint", "web", "--timeout", "60"});
  EXPECT_EQ(made.exit_code, 0) << made.out << made.err << log();
  // Root ends her import; it stops at once.
  EXPECT_EQ(stasisctl({"cancel", run}).exit_code, 0);
  auto root = client();
  ASSERT_TRUE(root);
  std::string state;
  for (int i = 0; i < 100; ++i) {
    auto info = root->get_run(run);
    ASSERT_TRUE(info) << info.error().message;
    state = manager::to_string(info->state);
    if (state != "queued" && state != "running") {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(state, "cancelled") << log();
}

} // namespace
} // namespace stasis::test
