#include "manager/metrics.hpp"

#include "util/log.hpp"
#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::manager {
namespace {

// Mode of the metrics file: node_exporter reads it as its own user.
constexpr mode_t k_metrics_file_mode = 0644;

double seconds_since_epoch(TimePoint time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

// Appends one metric family: its HELP and TYPE lines, then its samples. A
// job's samples carry it as the label stasis_job: Prometheus gives the label
// "job" to the scrape job (node_exporter's) and would rename ours.
class Exposition {
public:
  void family(const char* name, const char* type, const char* help) {
    m_text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    m_name = name;
  }
  void sample(double value) { m_text += fmt::format("{} {}\n", m_name, number(value)); }
  void sample(const std::string& job, double value) {
    m_text += fmt::format("{}{{stasis_job=\"{}\"}} {}\n", m_name, escape_label_value(job),
                          number(value));
  }
  std::string take() { return std::move(m_text); }

private:
  static std::string number(double value) { return fmt::format("{}", value); }
  std::string m_text;
  std::string m_name;
};

} // namespace

void add_run_metrics(JobMetrics& job, const std::vector<RunInfo>& runs_newest_first) {
  bool success_seen = false;
  for (const auto& run : runs_newest_first) {
    if (run.kind != RunKind::Checkpoint) {
      continue;
    }
    if (run.state == RunState::Failed || run.state == RunState::Interrupted) {
      ++job.failures_recorded;
      if (!success_seen) {
        ++job.failures_since_success;
      }
    } else if (run.state == RunState::Succeeded && !success_seen) {
      success_seen = true;
      job.last_success = run.finished ? run.finished : run.started;
      job.frozen_usec = run.frozen_usec;
      job.logical_bytes = run.logical_bytes;
      job.stored_bytes = run.stored_bytes;
    }
  }
}

std::string escape_label_value(const std::string& value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '"') {
      escaped += "\\\"";
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string to_prometheus(const Metrics& metrics) {
  Exposition out;
  out.family("stasis_job_last_success_timestamp_seconds", "gauge",
             "When the newest successful checkpoint run of the job finished (0: never, "
             "in the kept run history).");
  for (const auto& job : metrics.jobs) {
    out.sample(job.job, job.last_success ? seconds_since_epoch(*job.last_success) : 0.0);
  }
  out.family("stasis_job_last_checkpoint_frozen_seconds", "gauge",
             "How long the target was frozen for the newest successful checkpoint.");
  for (const auto& job : metrics.jobs) {
    out.sample(job.job, static_cast<double>(job.frozen_usec) / 1e6);
  }
  out.family("stasis_job_last_checkpoint_logical_bytes", "gauge",
             "Bytes of the images of the newest successful checkpoint.");
  for (const auto& job : metrics.jobs) {
    out.sample(job.job, static_cast<double>(job.logical_bytes));
  }
  out.family("stasis_job_last_checkpoint_stored_bytes", "gauge",
             "Bytes the newest successful checkpoint added to the store.");
  for (const auto& job : metrics.jobs) {
    out.sample(job.job, static_cast<double>(job.stored_bytes));
  }
  out.family("stasis_job_checkpoint_failures", "gauge",
             "Failed checkpoint runs of the job since its newest successful one.");
  for (const auto& job : metrics.jobs) {
    out.sample(job.job, static_cast<double>(job.failures_since_success));
  }
  out.family("stasis_job_checkpoint_failures_recorded", "gauge",
             "Failed checkpoint runs of the job in the kept run history.");
  for (const auto& job : metrics.jobs) {
    out.sample(job.job, static_cast<double>(job.failures_recorded));
  }
  out.family("stasis_job_checkpoints", "gauge", "Checkpoints of the job in the store.");
  for (const auto& job : metrics.jobs) {
    out.sample(job.job, static_cast<double>(job.checkpoints));
  }
  out.family("stasis_job_scheduled", "gauge",
             "1 when the job's policy has a schedule, 0 for on-demand jobs.");
  for (const auto& job : metrics.jobs) {
    out.sample(job.job, job.scheduled ? 1.0 : 0.0);
  }
  if (metrics.store) {
    const auto& store = *metrics.store;
    out.family("stasis_store_logical_bytes", "gauge",
               "Bytes of the images of every checkpoint in the store.");
    out.sample(static_cast<double>(store.logical_bytes));
    out.family("stasis_store_referenced_bytes", "gauge",
               "Bytes of the unique compressed chunks the checkpoints use.");
    out.sample(static_cast<double>(store.referenced_bytes));
    out.family("stasis_store_pack_bytes", "gauge",
               "Bytes of the store's pack files on disk.");
    out.sample(static_cast<double>(store.pack_bytes));
    out.family("stasis_store_dedup_ratio", "gauge",
               "Logical bytes per referenced byte (deduplication and compression).");
    out.sample(store.referenced_bytes == 0
                   ? 1.0
                   : static_cast<double>(store.logical_bytes) /
                         static_cast<double>(store.referenced_bytes));
  }
  if (metrics.runs_queued) {
    out.family("stasis_runs_queued", "gauge", "Runs waiting for a free worker.");
    out.sample(static_cast<double>(*metrics.runs_queued));
  }
  if (metrics.runs_running) {
    out.family("stasis_runs_running", "gauge", "Runs executing now.");
    out.sample(static_cast<double>(*metrics.runs_running));
  }
  return out.take();
}

Result<void> write_metrics_file(const std::filesystem::path& file,
                                const std::string& text) {
  const auto temp = file.string() + ".tmp";
  util::UniqueFd fd{::open(temp.c_str(),
                           O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                           k_metrics_file_mode)};
  if (!fd) {
    return make_error("cannot create {}: {}", temp, std::strerror(errno));
  }
  // The daemon's umask (0077 under systemd) must not hide the file.
  if (::fchmod(fd.get(), k_metrics_file_mode) != 0) {
    return make_error("cannot chmod {}: {}", temp, std::strerror(errno));
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const auto error = make_error("cannot write {}: {}", temp, std::strerror(errno));
      ::unlink(temp.c_str());
      return error;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::rename(temp.c_str(), file.c_str()) != 0) {
    const auto error =
        make_error("cannot replace {}: {}", file.string(), std::strerror(errno));
    ::unlink(temp.c_str());
    return error;
  }
  return ok();
}

MetricsFileWriter::MetricsFileWriter(std::filesystem::path file, Source source)
    : m_file(std::move(file)), m_source(std::move(source)), m_thread([this] { loop(); }) {
}

MetricsFileWriter::~MetricsFileWriter() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_all();
  m_thread.join();
}

void MetricsFileWriter::poke() {
  {
    std::lock_guard lock(m_mutex);
    m_pending = true;
  }
  m_wake.notify_all();
}

void MetricsFileWriter::loop() {
  auto logger = log::get("manager");
  std::unique_lock lock(m_mutex);
  while (true) {
    m_wake.wait(lock, [this] { return m_pending || m_stop; });
    if (m_stop) {
      return;
    }
    m_pending = false;
    lock.unlock();
    if (auto written = write_metrics_file(m_file, m_source()); !written) {
      logger->warn("metrics file not written: {}", written.error().message);
    }
    lock.lock();
  }
}

} // namespace stasis::manager
