// stasisd end to end: scheduled checkpoints, their signals, and a restart
// after kill -9 (history kept, a persistent job caught up exactly once).
#include "tests/dbus/daemon_fixture.hpp"

#include <fstream>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

std::size_t count_succeeded(const std::vector<manager::RunInfo>& runs) {
  std::size_t count = 0;
  for (const auto& run : runs) {
    count += run.state == manager::RunState::Succeeded ? 1 : 0;
  }
  return count;
}

class AScheduledDaemonJob : public DaemonTest {};

TEST_F(AScheduledDaemonJob, CheckpointsEverySecondAndAnnouncesEachRun) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  write_policy("tick.yaml",
               pidfile_job("tick", write_pidfile("tick", workload.pid()),
                           "schedule:\n  every: 1s\ncriu:\n  leave-running: true\n"
                           "retention:\n  keep-last: 10\n"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->subscribe());
  // The first run may start before we subscribe (a job that never ran is due
  // at once), so count only runs whose start we saw: each must be announced
  // as started, finished and as a change of the job's checkpoints.
  std::set<std::string> started;
  std::set<std::string> succeeded;
  std::size_t changed = 0;
  client->on_event([&](const manager::Event& event) {
    if (const auto* start = std::get_if<manager::RunStartedEvent>(&event)) {
      started.insert(start->run);
    } else if (const auto* done = std::get_if<manager::RunFinishedEvent>(&event)) {
      if (started.contains(done->run) && done->result == manager::RunState::Succeeded) {
        succeeded.insert(done->run);
      }
    } else if (std::holds_alternative<manager::CheckpointsChangedEvent>(event)) {
      ++changed;
    }
  });
  auto waited = client->wait_events(
      [&] { return succeeded.size() >= 2 && changed >= succeeded.size(); }, 20s);
  ASSERT_TRUE(waited && *waited) << "started " << started.size() << ", succeeded "
                                 << succeeded.size() << ", changed " << changed << "\n"
                                 << log();
  auto checkpoints = client->list_checkpoints("tick");
  ASSERT_TRUE(checkpoints);
  EXPECT_GE(checkpoints->size(), 2u);
  auto job = client->get_job("tick");
  ASSERT_TRUE(job);
  EXPECT_TRUE(job->next_run.has_value());
  EXPECT_EQ(job->last_result, "succeeded");
  // Scheduled runs leave the target running.
  EXPECT_EQ(workload.verify(), "");
}

// Moves every timestamp of the history file back by `shift`.
void shift_history(const std::filesystem::path& file, std::chrono::microseconds shift) {
  std::ifstream in(file);
  std::string text;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      continue;
    }
    for (const char* key : {"started_usec", "finished_usec"}) {
      if (j.contains(key)) {
        j[key] = j[key].get<std::int64_t>() - shift.count();
      }
    }
    text += j.dump() + "\n";
  }
  in.close();
  std::ofstream(file, std::ios::trunc) << text;
}

class ARestartedDaemon : public DaemonTest {};

TEST_F(ARestartedDaemon, KeepsItsHistoryAndCatchesUpAPersistentJobOnce) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  write_policy("hourly.yaml",
               pidfile_job("hourly", write_pidfile("hourly", workload.pid()),
                           "schedule:\n  every: 1h\n  persistent: true\n"
                           "criu:\n  leave-running: true\n"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  // A job that never ran is due at once.
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  std::vector<manager::RunInfo> runs;
  while (std::chrono::steady_clock::now() < deadline) {
    runs = client->list_runs("hourly", 0).value_or(std::vector<manager::RunInfo>{});
    if (count_succeeded(runs) == 1) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(count_succeeded(runs), 1u) << log();
  manager::CheckpointOptions leave_running;
  leave_running.leave_running = true;
  auto manual = client->checkpoint("hourly", leave_running);
  ASSERT_TRUE(manual);
  ASSERT_EQ(wait_run(*client, *manual).state, manager::RunState::Succeeded) << log();

  ASSERT_EQ(stop_daemon(SIGKILL), -1);
  client.reset();
  // Pretend the daemon was down for two hours: one hourly run was missed.
  shift_history(state_dir() / "history.jsonl", std::chrono::hours(2));
  start_daemon();
  client = this->client();
  ASSERT_TRUE(client);
  std::this_thread::sleep_for(2500ms);
  runs = client->list_runs("hourly", 0).value_or(std::vector<manager::RunInfo>{});
  ASSERT_EQ(runs.size(), 3u) << log();
  EXPECT_EQ(count_succeeded(runs), 3u) << log();
  EXPECT_EQ(runs[1].id, *manual); // newest first: the catch-up, then the old ones
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(client->list_runs("hourly", 0)->size(), 3u) << "caught up more than once";
  auto checkpoints = client->list_checkpoints("hourly");
  ASSERT_TRUE(checkpoints);
  EXPECT_EQ(checkpoints->size(), 3u);
}

} // namespace
} // namespace stasis::test
