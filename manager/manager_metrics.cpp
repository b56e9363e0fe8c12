// Manager::metrics and the metrics file (manager/metrics.hpp).
#include "manager/manager.hpp"
#include "manager/metrics.hpp"

namespace stasis::manager {

Metrics Manager::collect_metrics(const Caller& caller) const {
  std::vector<JobEntry> entries;
  {
    std::lock_guard lock(m_mutex);
    for (const auto& [name, entry] : m_jobs) {
      if (may(caller, Action::List, entry.job->access)) {
        entries.push_back(entry);
      }
    }
  }
  Metrics metrics;
  for (const auto& entry : entries) {
    JobMetrics job;
    job.job = entry.job->name;
    job.scheduled = !entry.adhoc && entry.job->enabled &&
                    entry.job->schedule.kind != policy::Schedule::Kind::OnDemand;
    add_run_metrics(job, m_history->list(job.job));
    if (auto checkpoints = m_store.list(job.job)) {
      job.checkpoints = static_cast<std::uint32_t>(checkpoints->size());
    }
    metrics.jobs.push_back(std::move(job));
  }
  if (!caller.is_root()) {
    return metrics; // the store's and the queue's totals tell of others' jobs
  }
  if (auto usage = m_store.usage()) {
    metrics.store =
        StoreMetrics{usage->logical_bytes, usage->referenced_bytes, usage->pack_bytes};
  }
  std::uint64_t queued = 0;
  std::uint64_t running = 0;
  for (const auto& run : m_queue->active()) {
    queued += run.state == RunState::Queued ? 1 : 0;
    running += run.state == RunState::Running ? 1 : 0;
  }
  metrics.runs_queued = queued;
  metrics.runs_running = running;
  return metrics;
}

MResult<std::string> Manager::metrics(const Caller& caller) {
  return to_prometheus(collect_metrics(caller));
}

void Manager::start_metrics_file() {
  if (!m_config.metrics_file) {
    return;
  }
  m_metrics_file = std::make_unique<MetricsFileWriter>(*m_config.metrics_file, [this] {
    return to_prometheus(collect_metrics(Caller{}));
  });
}

void Manager::poke_metrics_file(const Event& event) {
  if (m_metrics_file && (std::holds_alternative<RunFinishedEvent>(event) ||
                         std::holds_alternative<RunStartedEvent>(event) ||
                         std::holds_alternative<CheckpointsChangedEvent>(event) ||
                         std::holds_alternative<JobsChangedEvent>(event))) {
    m_metrics_file->poke();
  }
}

} // namespace stasis::manager
