// stasisd's metrics: the metrics-file setting (node_exporter's textfile
// collector) and `stasisctl metrics`, after a real checkpoint.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/daemon_host.hpp"
#include "tests/support/prometheus_text.hpp"

#include <fstream>
#include <sstream>
#include <thread>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class DaemonMetrics : public DaemonTest {};

TEST_F(DaemonMetrics, AreWrittenToTheMetricsFileAfterACheckpointAndPrintedByStasisctl) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  write_policy("metered.yaml",
               pidfile_job("metered-job", write_pidfile("metered", workload.pid()),
                           "criu: {leave-running: true}\n"));
  const auto textfile_dir = dir() / "textfile";
  std::filesystem::create_directories(textfile_dir);
  const auto file = textfile_dir / "stasis.prom";
  start_daemon({"--metrics-file", file.string()});
  auto client = this->client();
  ASSERT_TRUE(client);
  auto run = client->checkpoint("metered-job", {});
  ASSERT_TRUE(run) << run.error().message;
  const auto info = wait_run(*client, *run);
  ASSERT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();

  // The file follows the run on a thread of stasisd: wait for the version
  // that shows the checkpoint and an idle queue.
  PrometheusText parsed;
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    text = read_text(file);
    parsed = parse_prometheus_text(text);
    const auto* checkpoints = parsed.find("stasis_job_checkpoints", "metered-job");
    const auto* running = parsed.find("stasis_runs_running");
    const auto* success =
        parsed.find("stasis_job_last_success_timestamp_seconds", "metered-job");
    // (A version written between the run's end and its record in the
    // history still shows no success: the next one does.)
    if (parsed.problem.empty() && checkpoints != nullptr && checkpoints->value == 1 &&
        running != nullptr && running->value == 0 && success != nullptr &&
        success->value > 0) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(parsed.problem, "") << text;
  ASSERT_NE(parsed.find("stasis_job_checkpoints", "metered-job"), nullptr)
      << text << log();
  EXPECT_EQ(parsed.find("stasis_job_checkpoints", "metered-job")->value, 1) << text;
  ASSERT_TRUE(info.finished);
  EXPECT_NEAR(
      parsed.find("stasis_job_last_success_timestamp_seconds", "metered-job")->value,
      std::chrono::duration<double>(info.finished->time_since_epoch()).count(), 1.0);
  EXPECT_EQ(parsed.find("stasis_job_last_checkpoint_logical_bytes", "metered-job")->value,
            static_cast<double>(info.logical_bytes));
  EXPECT_GT(info.logical_bytes, 0u);
  EXPECT_EQ(parsed.find("stasis_job_last_checkpoint_stored_bytes", "metered-job")->value,
            static_cast<double>(info.stored_bytes));
  EXPECT_NEAR(
      parsed.find("stasis_job_last_checkpoint_frozen_seconds", "metered-job")->value,
      static_cast<double>(info.frozen_usec) / 1e6, 1e-6);
  EXPECT_EQ(parsed.find("stasis_job_checkpoint_failures", "metered-job")->value, 0);
  EXPECT_EQ(parsed.find("stasis_runs_queued")->value, 0);
  ASSERT_NE(parsed.find("stasis_store_logical_bytes"), nullptr) << text;
  EXPECT_GE(parsed.find("stasis_store_logical_bytes")->value,
            static_cast<double>(info.logical_bytes));
  EXPECT_GT(parsed.find("stasis_store_dedup_ratio")->value, 0);
  // No temporary file stays behind (one may be being written right now).
  EXPECT_TRUE(
      wait_until([&] { return !std::filesystem::exists(file.string() + ".tmp"); }, 10s));

  const auto printed = stasisctl({"metrics"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  const auto from_cli = parse_prometheus_text(printed.out);
  ASSERT_EQ(from_cli.problem, "") << printed.out;
  ASSERT_NE(from_cli.find("stasis_job_last_success_timestamp_seconds", "metered-job"),
            nullptr);
  EXPECT_EQ(
      from_cli.find("stasis_job_last_success_timestamp_seconds", "metered-job")->value,
      parsed.find("stasis_job_last_success_timestamp_seconds", "metered-job")->value);
  EXPECT_EQ(workload.verify(), "");
}

} // namespace
} // namespace stasis::test
