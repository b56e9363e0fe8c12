// stasisd's metrics in the Prometheus text exposition format (version
// 0.0.4): what GetMetrics answers and what stasisd writes to its metrics-file
// setting for node_exporter's textfile collector.
#pragma once

#include "manager/api.hpp"
#include "util/result.hpp"

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace stasis::manager {

// One job's checkpoint metrics.
struct JobMetrics {
  std::string job;
  bool scheduled = false;
  // The newest successful checkpoint run: when it finished, how long the
  // target was frozen, its logical and newly stored bytes.
  std::optional<TimePoint> last_success;
  std::uint64_t frozen_usec = 0;
  std::uint64_t logical_bytes = 0;
  std::uint64_t stored_bytes = 0;
  // Failed checkpoint runs since the last successful one, and in the kept run
  // history.
  std::uint64_t failures_since_success = 0;
  std::uint64_t failures_recorded = 0;
  std::uint32_t checkpoints = 0;
};

// The whole store's bytes (root only).
struct StoreMetrics {
  std::uint64_t logical_bytes = 0;    // what all checkpoints hold
  std::uint64_t referenced_bytes = 0; // unique (compressed) blob bytes they use
  std::uint64_t pack_bytes = 0;       // pack files on disk
};

// Everything one exposition holds; store and queue are set for root only.
struct Metrics {
  std::vector<JobMetrics> jobs;
  std::optional<StoreMetrics> store;
  std::optional<std::uint64_t> runs_queued;
  std::optional<std::uint64_t> runs_running;
};

// Fills a job's run metrics from its runs, newest first (RunHistory::list).
void add_run_metrics(JobMetrics& job, const std::vector<RunInfo>& runs_newest_first);

// A label value escaped as the exposition format asks (\\, \" and \n).
std::string escape_label_value(const std::string& value);

// The exposition text: a HELP and a TYPE line before each metric family.
std::string to_prometheus(const Metrics& metrics);

// Writes text to file atomically: a temporary file in the same directory
// (mode 0644: node_exporter reads it as another user), fsync'ed and renamed
// over the old one.
Result<void> write_metrics_file(const std::filesystem::path& file,
                                const std::string& text);

// Rewrites the metrics file on a thread of its own whenever poke() asks (runs
// end, checkpoints change): a burst of pokes makes one write, and the caller
// never waits for the store's usage to be read.
class MetricsFileWriter {
public:
  using Source = std::function<std::string()>;
  MetricsFileWriter(std::filesystem::path file, Source source);
  ~MetricsFileWriter();
  MetricsFileWriter(const MetricsFileWriter&) = delete;
  MetricsFileWriter& operator=(const MetricsFileWriter&) = delete;

  // Asks for a new write of the file.
  void poke();

private:
  void loop();

  std::filesystem::path m_file;
  Source m_source;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_pending = true; // the first write happens at start
  bool m_stop = false;
  std::thread m_thread;
};

} // namespace stasis::manager
