// The metrics exposition (manager/metrics.hpp): format, escaping, and what a
// job's runs say.
#include "manager/metrics.hpp"
#include "tests/support/prometheus_text.hpp"
#include "tests/support/temp_dir.hpp"

#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include <gtest/gtest.h>

namespace stasis::test {
namespace {

using manager::RunInfo;
using manager::RunKind;
using manager::RunState;
using namespace std::chrono_literals;

RunInfo run(RunKind kind, RunState state, std::int64_t finished_seconds,
            std::uint64_t frozen_usec = 0) {
  RunInfo info;
  info.kind = kind;
  info.state = state;
  info.finished = manager::TimePoint(std::chrono::seconds(finished_seconds));
  info.frozen_usec = frozen_usec;
  info.logical_bytes = 1000 + frozen_usec;
  info.stored_bytes = 10 + frozen_usec;
  return info;
}

TEST(AMetricsExposition, AnnouncesEveryFamilyWithHelpAndTypeAndEscapesJobNames) {
  manager::Metrics metrics;
  manager::JobMetrics odd;
  odd.job = "a\"b\\c\nd";
  odd.last_success = manager::TimePoint(std::chrono::milliseconds(1700000000500));
  odd.frozen_usec = 1500;
  odd.logical_bytes = 4096;
  odd.stored_bytes = 512;
  odd.failures_since_success = 2;
  odd.checkpoints = 3;
  odd.scheduled = true;
  manager::JobMetrics never;
  never.job = "never";
  metrics.jobs = {odd, never};
  metrics.store = manager::StoreMetrics{8000, 2000, 2500};
  metrics.runs_queued = 1;
  metrics.runs_running = 2;

  const auto text = manager::to_prometheus(metrics);
  const auto parsed = parse_prometheus_text(text);
  ASSERT_EQ(parsed.problem, "") << text;
  EXPECT_NE(text.find(R"(stasis_job="a\"b\\c\nd")"), std::string::npos) << text;
  const auto* last = parsed.find("stasis_job_last_success_timestamp_seconds", odd.job);
  ASSERT_NE(last, nullptr) << text;
  EXPECT_DOUBLE_EQ(last->value, 1700000000.5);
  const auto* frozen = parsed.find("stasis_job_last_checkpoint_frozen_seconds", odd.job);
  ASSERT_NE(frozen, nullptr);
  EXPECT_DOUBLE_EQ(frozen->value, 0.0015);
  EXPECT_EQ(parsed.find("stasis_job_last_checkpoint_logical_bytes", odd.job)->value,
            4096);
  EXPECT_EQ(parsed.find("stasis_job_last_checkpoint_stored_bytes", odd.job)->value, 512);
  EXPECT_EQ(parsed.find("stasis_job_checkpoint_failures", odd.job)->value, 2);
  EXPECT_EQ(parsed.find("stasis_job_checkpoints", odd.job)->value, 3);
  EXPECT_EQ(parsed.find("stasis_job_scheduled", odd.job)->value, 1);
  EXPECT_EQ(parsed.find("stasis_job_scheduled", "never")->value, 0);
  // A job that never succeeded reads as "long ago": its age alerts.
  EXPECT_EQ(parsed.find("stasis_job_last_success_timestamp_seconds", "never")->value, 0);
  EXPECT_EQ(parsed.find("stasis_store_dedup_ratio")->value, 4);
  EXPECT_EQ(parsed.find("stasis_store_pack_bytes")->value, 2500);
  EXPECT_EQ(parsed.find("stasis_runs_queued")->value, 1);
  EXPECT_EQ(parsed.find("stasis_runs_running")->value, 2);
  EXPECT_EQ(parsed.types.at("stasis_job_checkpoints"), "gauge");
}

TEST(AMetricsExposition, LeavesTheStoreAndQueueOutWhenTheCallerMayNotSeeThem) {
  manager::Metrics metrics;
  manager::JobMetrics mine;
  mine.job = "mine";
  metrics.jobs.push_back(mine);
  const auto text = manager::to_prometheus(metrics);
  const auto parsed = parse_prometheus_text(text);
  ASSERT_EQ(parsed.problem, "") << text;
  EXPECT_EQ(text.find("stasis_store_"), std::string::npos);
  EXPECT_EQ(text.find("stasis_runs_"), std::string::npos);
}

TEST(AJobsMetrics, TakeTheNewestSuccessfulCheckpointAndCountTheFailuresAfterIt) {
  manager::JobMetrics job;
  manager::add_run_metrics(job, {run(RunKind::Checkpoint, RunState::Failed, 50),
                                 run(RunKind::Restore, RunState::Failed, 45),
                                 run(RunKind::Checkpoint, RunState::Interrupted, 40),
                                 run(RunKind::Checkpoint, RunState::Skipped, 35),
                                 run(RunKind::Checkpoint, RunState::Succeeded, 30, 700),
                                 run(RunKind::Checkpoint, RunState::Failed, 20),
                                 run(RunKind::Checkpoint, RunState::Succeeded, 10, 900)});
  ASSERT_TRUE(job.last_success);
  EXPECT_EQ(*job.last_success, manager::TimePoint(30s));
  EXPECT_EQ(job.frozen_usec, 700u);
  EXPECT_EQ(job.logical_bytes, 1700u);
  EXPECT_EQ(job.stored_bytes, 710u);
  EXPECT_EQ(job.failures_since_success, 2u);
  EXPECT_EQ(job.failures_recorded, 3u);
}

TEST(AMetricsFile, IsReplacedWholeAndReadableByOthersWhateverTheUmask) {
  TempDir dir("stasis-metrics-test");
  const auto file = dir.path() / "stasis.prom";
  const mode_t old_umask = ::umask(0077);
  ASSERT_TRUE(manager::write_metrics_file(file, "first 1\n"));
  ASSERT_TRUE(manager::write_metrics_file(file, "second 2\n"));
  ::umask(old_umask);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  std::ifstream in(file);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), "second 2\n");
  EXPECT_FALSE(std::filesystem::exists(file.string() + ".tmp"));
}

TEST(APrometheusReader, RefusesASampleWithoutItsHelpAndTypeAndABadEscape) {
  EXPECT_NE(parse_prometheus_text("x 1\n").problem, "");
  EXPECT_NE(
      parse_prometheus_text("# HELP x h\n# TYPE x gauge\nx{job=\"a\\q\"} 1\n").problem,
      "");
  EXPECT_EQ(
      parse_prometheus_text("# HELP x h\n# TYPE x gauge\nx{job=\"a\\\"\"} 1\n").problem,
      "");
}

} // namespace
} // namespace stasis::test
