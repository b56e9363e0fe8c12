// RunProgress of a real checkpoint: stasisd dumps a workload of 64 MiB with
// real CRIU and reports the bytes CRIU wrote of the tree's memory, then the
// bytes stored of the images, each growing to its total.
#include "tests/dbus/daemon_fixture.hpp"

#include <algorithm>
#include <map>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t k_workload_bytes = 64ULL << 20;

class ADaemonCheckpoint : public DaemonTest {};

// Every report of a phase: done never goes back and never passes the total,
// and the last one is the whole total, at least `least` bytes.
void expect_bytes_growing_to_total(const std::vector<manager::RunProgressEvent>& reports,
                                   std::uint64_t least, const std::string& phase) {
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

TEST_F(ADaemonCheckpoint, ReportsTheBytesDumpedAndStoredGrowingToTheirTotals) {
  auto workload =
      Workload::start("stasis-wl-memory", {"--bytes", "64M"}, dir() / "progress");
  ASSERT_TRUE(workload.wait_for_ticks(2, 30s));
  write_policy("progress.yaml",
               pidfile_job("progress", write_pidfile("progress", workload.pid()),
                           "criu:\n  leave-running: true"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  std::vector<manager::Event> events;
  client->on_event([&events](const manager::Event& event) { events.push_back(event); });
  ASSERT_TRUE(client->subscribe());
  auto run = client->checkpoint("progress", {});
  ASSERT_TRUE(run) << run.error().message;
  auto finished = [&] {
    return std::any_of(events.begin(), events.end(), [&](const manager::Event& event) {
      const auto* done = std::get_if<manager::RunFinishedEvent>(&event);
      return done != nullptr && done->run == *run;
    });
  };
  auto waited = client->wait_events(finished, 120s);
  ASSERT_TRUE(waited && *waited) << log();
  ASSERT_EQ(wait_run(*client, *run).state, manager::RunState::Succeeded) << log();

  std::vector<std::string> phases;
  std::map<std::string, std::vector<manager::RunProgressEvent>> by_phase;
  for (const auto& event : events) {
    if (const auto* progress = std::get_if<manager::RunProgressEvent>(&event);
        progress != nullptr && progress->run == *run) {
      if (phases.empty() || phases.back() != progress->phase) {
        phases.push_back(progress->phase);
      }
      by_phase[progress->phase].push_back(*progress);
    }
  }
  EXPECT_EQ(phases, (std::vector<std::string>{"resolving", "dumping", "storing",
                                              "pruning", "done"}));
  // The dump starts at 0 of what the tree holds in memory, and ends with all
  // the pages CRIU wrote.
  const auto& dumping = by_phase["dumping"];
  ASSERT_FALSE(dumping.empty());
  EXPECT_EQ(dumping.front().done, 0U);
  EXPECT_GE(dumping.front().total, k_workload_bytes);
  expect_bytes_growing_to_total(dumping, k_workload_bytes, "dumping");
  // Storing announces itself (0 of 0), then counts the images' bytes.
  auto& storing = by_phase["storing"];
  ASSERT_GE(storing.size(), 2U);
  EXPECT_EQ(storing.front().done, 0U);
  EXPECT_EQ(storing.front().total, 0U);
  storing.erase(storing.begin());
  expect_bytes_growing_to_total(storing, k_workload_bytes, "storing");
  EXPECT_EQ(workload.verify(), "") << "the target runs on";
}

} // namespace
} // namespace stasis::test
