// RunProgress of real runs: stasisd dumps a workload of 64 MiB with real CRIU
// and reports the bytes CRIU wrote of the tree's memory, then the bytes
// stored of the images, each growing to its total (also when CRIU runs as
// the user whose process it dumps, whose stasisctl prints them as plain
// lines); a restore reports the bytes of the images it materialized; a push,
// a pull, an export and an import the bytes they moved.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/daemon_host.hpp"
#include "tests/dbus/test_user.hpp"

#include <algorithm>
#include <fstream>
#include <map>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t k_workload_bytes = 64ULL << 20;

// The RunProgress signals of one run, by phase, and its phases in order.
struct RunReports {
  std::vector<std::string> phases;
  std::map<std::string, std::vector<manager::RunProgressEvent>> by_phase;
};

// A client subscribed to stasisd's signals, and what it received.
class RunProgressTest : public DaemonTest {
protected:
  void subscribe() {
    m_client = client();
    ASSERT_TRUE(m_client);
    m_client->on_event(
        [this](const manager::Event& event) { m_events.push_back(event); });
    ASSERT_TRUE(m_client->subscribe());
  }

  // Waits for the run's RunFinished, checks that it succeeded and returns its
  // progress signals.
  RunReports finish(const std::string& run) {
    auto finished = [&] {
      return std::any_of(m_events.begin(), m_events.end(), [&](const auto& event) {
        const auto* done = std::get_if<manager::RunFinishedEvent>(&event);
        return done != nullptr && done->run == run;
      });
    };
    auto waited = m_client->wait_events(finished, 120s);
    EXPECT_TRUE(waited && *waited) << log();
    EXPECT_EQ(wait_run(*m_client, run).state, manager::RunState::Succeeded) << log();
    RunReports out;
    for (const auto& event : m_events) {
      if (const auto* progress = std::get_if<manager::RunProgressEvent>(&event);
          progress != nullptr && progress->run == run) {
        if (out.phases.empty() || out.phases.back() != progress->phase) {
          out.phases.push_back(progress->phase);
        }
        out.by_phase[progress->phase].push_back(*progress);
      }
    }
    return out;
  }

  // The id of the newest run of that kind started so far ("" if none).
  std::string newest_run(manager::RunKind kind) const {
    std::string run;
    for (const auto& event : m_events) {
      if (const auto* started = std::get_if<manager::RunStartedEvent>(&event);
          started != nullptr && started->kind == kind) {
        run = started->run;
      }
    }
    return run;
  }

  // The id of the only run started so far ("" if none or several).
  std::string only_run() const {
    std::string run;
    for (const auto& event : m_events) {
      if (const auto* started = std::get_if<manager::RunStartedEvent>(&event)) {
        if (!run.empty()) {
          return "";
        }
        run = started->run;
      }
    }
    return run;
  }

  std::unique_ptr<dbus::Client> m_client;
  std::vector<manager::Event> m_events;
};

// A workload of root's, job "progress".
class ADaemonRun : public RunProgressTest {
protected:
  void SetUp() override {
    m_workload = Workload::start("stasis-wl-memory", {"--bytes", "64M"}, dir() / "mem");
    ASSERT_TRUE(m_workload->wait_for_ticks(2, 30s));
  }

  // Starts stasisd with job "progress" of the workload (extra: its YAML) and
  // subscribes to the signals.
  void start(const std::string& extra = "") {
    write_policy(
        "progress.yaml",
        pidfile_job("progress", write_pidfile("progress", m_workload->pid()), extra));
    start_daemon();
    subscribe();
  }

  std::optional<Workload> m_workload;
};

class ADaemonRunOfAUser : public RunProgressTest {};

// A phase that starts with "0 of 0" and then counts bytes: done never goes
// back and never passes the total, and the last report is the whole total,
// at least `least` bytes.
void expect_bytes_growing_to_total(std::vector<manager::RunProgressEvent> reports,
                                   std::uint64_t least, const std::string& phase,
                                   bool announced = true) {
  if (announced) {
    ASSERT_GE(reports.size(), 2U) << phase;
    EXPECT_EQ(reports.front().done, 0U) << phase;
    EXPECT_EQ(reports.front().total, 0U) << phase;
    reports.erase(reports.begin());
  }
  ASSERT_FALSE(reports.empty()) << "no " << phase << " progress";
  std::uint64_t previous = 0;
  for (const auto& report : reports) {
    EXPECT_GE(report.done, previous) << phase;
    EXPECT_LE(report.done, report.total) << phase;
    previous = report.done;
  }
  EXPECT_EQ(reports.back().done, reports.back().total) << phase;
  EXPECT_GE(reports.back().total, least) << phase;
}

TEST_F(ADaemonRun, OfACheckpointReportsTheBytesDumpedAndStoredGrowingToTheirTotals) {
  start("criu:\n  leave-running: true");
  auto run = m_client->checkpoint("progress", {});
  ASSERT_TRUE(run) << run.error().message;
  auto reports = finish(*run);
  EXPECT_EQ(reports.phases, (std::vector<std::string>{"resolving", "dumping", "storing",
                                                      "pruning", "done"}));
  // The dump starts at 0 of what the tree holds in memory, and ends with all
  // the pages CRIU wrote.
  const auto& dumping = reports.by_phase["dumping"];
  ASSERT_FALSE(dumping.empty());
  EXPECT_EQ(dumping.front().done, 0U);
  EXPECT_GE(dumping.front().total, k_workload_bytes);
  expect_bytes_growing_to_total(dumping, k_workload_bytes, "dumping", false);
  expect_bytes_growing_to_total(reports.by_phase["storing"], k_workload_bytes, "storing");
  EXPECT_EQ(m_workload->verify(), "") << "the target runs on";
}

TEST_F(ADaemonRun, OfARestoreReportsTheBytesMaterializedGrowingToTheCheckpointsSize) {
  start();
  auto checkpoint = m_client->checkpoint("progress", {});
  ASSERT_TRUE(checkpoint) << checkpoint.error().message;
  finish(*checkpoint);
  m_workload->reap_after_dump(); // CRIU killed it
  auto restore = m_client->restore("progress", "", {});
  ASSERT_TRUE(restore) << restore.error().message;
  auto reports = finish(*restore);
  EXPECT_EQ(reports.phases.front(), "materializing");
  expect_bytes_growing_to_total(reports.by_phase["materializing"], k_workload_bytes,
                                "materializing");
  auto restored = wait_run(*m_client, *restore);
  ASSERT_GT(restored.pid, 0);
  m_workload->adopt(restored.pid);
  EXPECT_EQ(m_workload->verify(), "");
}

TEST_F(ADaemonRunOfAUser, ReportsTheBytesHerCriuDumpedAndStasisctlPrintsThemPlainly) {
  TestUser alice("stasis-t-progress-u");
  write_policy("root.yaml", pidfile_job("root-only", dir() / "none.pid"));
  start_daemon();
  subscribe(); // root: sees every run
  const auto alice_dir = dir() / "alice";
  const pid_t pid =
      start_workload_as(alice, "stasis-wl-memory", alice_dir, {"--bytes", "64M"});
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  // Her dump runs as her uid, writing into the images dir stasisd handed her;
  // stasisctl's standard error is no terminal: plain lines, no escape codes.
  auto made = stasisctl({"checkpoint", "--pid", std::to_string(pid), "--leave-running"},
                        alice.name());
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  EXPECT_NE(log().find("as uid " + std::to_string(alice.uid())), std::string::npos);
  EXPECT_NE(made.err.find("dumping  "), std::string::npos) << made.err;
  EXPECT_NE(made.err.find(" MiB  100%"), std::string::npos) << made.err;
  EXPECT_EQ(made.err.find('\033'), std::string::npos) << made.err;
  auto waited = m_client->wait_events([&] { return !only_run().empty(); }, 30s);
  ASSERT_TRUE(waited && *waited);
  auto reports = finish(only_run());
  expect_bytes_growing_to_total(reports.by_phase["dumping"], k_workload_bytes, "dumping",
                                false);
  expect_bytes_growing_to_total(reports.by_phase["storing"], k_workload_bytes, "storing");
  EXPECT_EQ(verify_workload(pid, alice_dir / "status"), "");
}

TEST_F(ADaemonRun, OfAPushAndAPullReportsTheBytesTheyMoved) {
  TestRegistry registry;
  std::ofstream(dir() / "ca.pem") << registry.ca_pem();
  write_auth_file(dir() / "auth.json", registry.host());
  const std::vector<std::string> access{"--ca-file", (dir() / "ca.pem").string(),
                                        "--authfile", (dir() / "auth.json").string()};
  const std::string repository = registry.host() + "/progress/svc";
  start("criu:\n  leave-running: true");
  auto checkpoint = m_client->checkpoint("progress", {});
  ASSERT_TRUE(checkpoint) << checkpoint.error().message;
  finish(*checkpoint);
  const auto id = wait_run(*m_client, *checkpoint).checkpoint;

  auto args =
      std::vector<std::string>{"push", "progress", id, repository, "--origin", "here"};
  args.insert(args.end(), access.begin(), access.end());
  auto pushed = stasisctl(args);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.out << pushed.err << log();
  ASSERT_TRUE(m_client->wait_events(
      [&] { return !newest_run(manager::RunKind::Push).empty(); }, 30s));
  auto push = finish(newest_run(manager::RunKind::Push));
  // The memory is random: its bundles are about as large as the workload.
  expect_bytes_growing_to_total(push.by_phase["pushing"], k_workload_bytes / 2,
                                "pushing");

  // Without the checkpoint (and its blobs) here, the pull downloads them.
  auto deleted = stasisctl({"delete", "progress", id});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.out << deleted.err;
  args = {"pull", repository + ":progress-here-" + id, "--job", "progress"};
  args.insert(args.end(), access.begin(), access.end());
  auto pulled = stasisctl(args);
  ASSERT_EQ(pulled.exit_code, 0) << pulled.out << pulled.err << log();
  ASSERT_TRUE(m_client->wait_events(
      [&] { return !newest_run(manager::RunKind::Pull).empty(); }, 30s));
  auto pull = finish(newest_run(manager::RunKind::Pull));
  expect_bytes_growing_to_total(pull.by_phase["pulling"], k_workload_bytes / 2,
                                "pulling");
}

TEST_F(ADaemonRun, OfAnExportAndAnImportReportsTheBytesOfTheFile) {
  start("criu:\n  leave-running: true");
  auto checkpoint = m_client->checkpoint("progress", {});
  ASSERT_TRUE(checkpoint) << checkpoint.error().message;
  finish(*checkpoint);
  const auto file = dir() / "progress.stasis";
  auto exported = stasisctl({"export", "progress", "latest", file.string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.err << log();
  ASSERT_TRUE(m_client->wait_events(
      [&] { return !newest_run(manager::RunKind::Export).empty(); }, 30s));
  auto reports = finish(newest_run(manager::RunKind::Export));
  const auto size = std::filesystem::file_size(file);
  EXPECT_GE(size, k_workload_bytes / 2);
  ASSERT_FALSE(reports.by_phase["exporting"].empty());
  EXPECT_EQ(reports.by_phase["exporting"].back().total, size);
  expect_bytes_growing_to_total(reports.by_phase["exporting"], size, "exporting", false);

  auto imported = stasisctl({"import", file.string(), "--job", "progress"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err << log();
  ASSERT_TRUE(m_client->wait_events(
      [&] { return !newest_run(manager::RunKind::Import).empty(); }, 30s));
  reports = finish(newest_run(manager::RunKind::Import));
  ASSERT_FALSE(reports.by_phase["importing"].empty());
  EXPECT_EQ(reports.by_phase["importing"].back().total, size);
  expect_bytes_growing_to_total(reports.by_phase["importing"], size, "importing", false);
}

} // namespace
} // namespace stasis::test
