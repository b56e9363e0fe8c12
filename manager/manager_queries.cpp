// The Manager's read-mostly calls: jobs, runs and checkpoints.
#include "manager/manager.hpp"
#include "manager/run_log.hpp"
#include "util/log.hpp"

#include <fmt/ranges.h>

namespace stasis::manager {
CheckpointInfo checkpoint_info(const store::CheckpointSummary& summary) {
  CheckpointInfo info;
  info.job = summary.job;
  info.id = std::to_string(summary.id);
  info.created = summary.created;
  info.previous = summary.previous ? std::to_string(*summary.previous) : "";
  info.pinned = summary.pinned;
  info.logical_bytes = summary.logical_bytes;
  info.stored_bytes = summary.stored_bytes;
  info.fingerprint = summary.policy_fingerprint;
  info.criu_version = summary.criu_version;
  info.frozen_usec = summary.stats.frozen_usec;
  info.problem = summary.problem;
  return info;
}

namespace {

std::string result_text(const RunInfo& run) {
  std::string text = to_string(run.state);
  if (!run.error.empty()) {
    text += ": " + run.error;
  }
  return text;
}

// The job an event is about; none for JobsChanged.
const std::string* job_of(const Event& event) {
  return std::visit(
      [](const auto& e) -> const std::string* {
        if constexpr (requires { e.job; }) {
          return &e.job;
        } else {
          return nullptr;
        }
      },
      event);
}

} // namespace

std::string quoted_name(const std::string& name) {
  if (name.size() <= k_max_quoted_name) {
    return "'" + name + "'";
  }
  return "'" + name.substr(0, k_max_quoted_name) + "...'";
}

Unexpected<ManagerError> no_such_job(const std::string& job) {
  return fail(ErrorCode::NoSuchJob, "no job named {}", quoted_name(job));
}

Unexpected<ManagerError> no_such_run(const std::string& run) {
  return fail(ErrorCode::NoSuchRun, "no run with id {}", quoted_name(run));
}

bool Manager::may_see(const Caller& caller, const Event& event) const {
  const std::string* job = job_of(event);
  if (job == nullptr) {
    return true; // JobsChanged names nothing
  }
  // An event without its job (the run queue always sets it) goes to root only.
  return job->empty() ? caller.is_root() : may_list(caller, *job);
}

bool Manager::may_list(const Caller& caller, const std::string& job) const {
  if (caller.is_root()) {
    return true;
  }
  auto entry = find_job(job);
  return entry && may(caller, Action::List, entry->job->access);
}

JobInfo Manager::describe_job(const JobEntry& entry) const {
  const auto& job = *entry.job;
  JobInfo info;
  info.name = job.name;
  info.description = job.description;
  info.target = entry.adhoc ? "processes checkpointed ad hoc by their owner"
                            : policy::describe(job.target);
  info.schedule = entry.adhoc ? "on demand" : policy::describe(job.schedule);
  info.enabled = job.enabled;
  if (entry.orphan) {
    info.target = "none: no policy names this job any more (its checkpoints remain)";
    info.schedule = "never";
  } else if (!entry.renamed_to.empty()) {
    info.description = fmt::format("former name of job {}", entry.renamed_to);
    info.schedule = fmt::format("never (checkpoints are taken as {})", entry.renamed_to);
  }
  if (!job.enabled) {
    info.schedule += " (disabled)";
  }
  info.next_run = m_scheduler->next_fire_time(job.name);
  if (auto last = m_history->last_finished(job.name)) {
    info.last_run = last->started ? last->started : last->finished;
    info.last_result = result_text(*last);
  }
  if (auto push = m_history->last_finished(job.name, RunKind::Push)) {
    info.last_push = push->started ? push->started : push->finished;
    info.last_push_result = result_text(*push);
    info.last_push_remote = push->remote;
  }
  if (auto checkpoints = m_store.list(job.name)) {
    info.checkpoints = static_cast<std::uint32_t>(checkpoints->size());
  }
  info.policy_file = entry.policy_file;
  info.fingerprint = job.fingerprint;
  info.shell_job = job.criu.shell_job;
  info.leave_running = job.criu.leave_running;
  return info;
}

MResult<std::vector<JobInfo>> Manager::list_jobs(const Caller& caller) {
  std::vector<JobEntry> entries;
  {
    std::lock_guard lock(m_mutex);
    for (const auto& [name, entry] : m_jobs) {
      if (may(caller, Action::List, entry.job->access)) {
        entries.push_back(entry);
      }
    }
  }
  std::vector<JobInfo> jobs;
  for (const auto& entry : entries) {
    jobs.push_back(describe_job(entry));
  }
  return jobs;
}

MResult<JobInfo> Manager::get_job(const Caller& caller, const std::string& job) {
  auto entry = STASIS_TRY(authorized_job(caller, job, Action::List));
  return describe_job(entry);
}

MResult<void> Manager::cancel_run(const Caller& caller, const std::string& run) {
  auto info = m_queue->get(run);
  // Runs of jobs the caller may not see do not exist for it (as in get_run).
  if (!info || !may_list(caller, info->job)) {
    return no_such_run(run);
  }
  const auto action = info->kind == RunKind::Push || info->kind == RunKind::Export
                          ? Action::Export
                      : info->kind == RunKind::Restore ? Action::Restore
                                                       : Action::Checkpoint;
  STASIS_TRY(authorized_job(caller, info->job, action));
  return m_queue->cancel(run);
}

MResult<RunInfo> Manager::get_run(const Caller& caller, const std::string& run) {
  auto info = m_queue->get(run);
  if (!info || !may_list(caller, info->job)) {
    // Runs of jobs the caller may not see do not exist for it.
    return no_such_run(run);
  }
  return *info;
}

MResult<std::string> Manager::run_log(const Caller& caller, const std::string& run) {
  auto info = m_queue->get(run);
  if (!info || !may_list(caller, info->job)) {
    return no_such_run(run);
  }
  // Only ids stasisd made reach here; the check keeps the path in logs/ anyway.
  if (info->id.empty() || info->id.find_first_of("/.") != std::string::npos) {
    return no_such_run(run);
  }
  auto logs = read_run_logs(m_config.state_dir / store::k_logs_dir_name / info->id);
  if (!logs) {
    return fail(ErrorCode::StoreFailed, "cannot read the logs of run {}: {}", info->id,
                logs.error().message);
  }
  if (!*logs || (*logs)->empty()) {
    return fail(ErrorCode::InvalidArgument,
                "run {} kept no CRIU log (stasisd keeps the logs of failed runs only{})",
                info->id,
                info->state == RunState::Queued || info->state == RunState::Running
                    ? ", and this run has not ended"
                    : "");
  }
  return std::move(**logs);
}

MResult<std::vector<RunInfo>>
Manager::list_runs(const Caller& caller, const std::string& job, std::uint32_t limit) {
  if (!job.empty()) {
    STASIS_TRY(authorized_job(caller, job, Action::List));
  }
  std::vector<RunInfo> runs;
  for (auto& run : m_history->list(job)) {
    if (limit != 0 && runs.size() >= limit) {
      break;
    }
    if (job.empty() && !may_list(caller, run.job)) {
      continue;
    }
    runs.push_back(std::move(run));
  }
  return runs;
}

MResult<std::vector<CheckpointInfo>> Manager::list_checkpoints(const Caller& caller,
                                                               const std::string& job) {
  STASIS_TRY(authorized_job(caller, job, Action::List));
  auto summaries = m_store.list(job);
  if (!summaries) {
    return fail(ErrorCode::StoreFailed, "{}", summaries.error().message);
  }
  std::vector<CheckpointInfo> checkpoints;
  for (const auto& summary : *summaries) {
    checkpoints.push_back(checkpoint_info(summary));
  }
  return checkpoints;
}

MResult<std::uint64_t> Manager::existing_checkpoint(const std::string& job,
                                                    const std::string& checkpoint) const {
  auto summaries = m_store.list(job);
  if (!summaries) {
    return fail(ErrorCode::StoreFailed, "{}", summaries.error().message);
  }
  if (checkpoint.empty()) {
    if (summaries->empty()) {
      return fail(ErrorCode::NoSuchCheckpoint, "job '{}' has no checkpoints", job);
    }
    return summaries->back().id;
  }
  auto id = STASIS_TRY(parse_checkpoint_id(checkpoint));
  for (const auto& summary : *summaries) {
    if (summary.id == id) {
      return id;
    }
  }
  return fail(ErrorCode::NoSuchCheckpoint, "job '{}' has no checkpoint {}", job, id);
}

MResult<void> Manager::delete_checkpoint(const Caller& caller, const std::string& job,
                                         const std::string& checkpoint) {
  STASIS_TRY(authorized_job(caller, job, Action::Delete));
  if (checkpoint.empty()) {
    return fail(ErrorCode::InvalidArgument, "name the checkpoint to delete");
  }
  auto id = STASIS_TRY(existing_checkpoint(job, checkpoint));
  if (auto summary = m_store.summary(job, id); summary && summary->pinned) {
    return fail(ErrorCode::InvalidArgument,
                "checkpoint {} of job '{}' is pinned; unpin it first", id, job);
  }
  if (auto removed = m_store.remove(job, id); !removed) {
    return fail(ErrorCode::StoreFailed, "{}", removed.error().message);
  }
  log::get("manager")->info("checkpoint {} of job {} deleted by uid {}", id, job,
                            caller.uid);
  emit(CheckpointsChangedEvent{job});
  return {};
}

MResult<void> Manager::pin_checkpoint(const Caller& caller, const std::string& job,
                                      const std::string& checkpoint, bool pinned) {
  STASIS_TRY(authorized_job(caller, job, Action::Delete));
  auto id = STASIS_TRY(existing_checkpoint(job, checkpoint));
  STASIS_TRY(check_pin_allowed(caller, job, pinned));
  if (auto set = m_store.set_pinned(job, id, pinned); !set) {
    return fail(ErrorCode::StoreFailed, "{}", set.error().message);
  }
  emit(CheckpointsChangedEvent{job});
  return {};
}

MResult<std::vector<std::string>> Manager::prune(const Caller& caller,
                                                 const std::string& job, bool dry_run) {
  auto entry =
      STASIS_TRY(authorized_job(caller, job, dry_run ? Action::List : Action::Delete));
  auto report = m_store.prune(job, entry.job->retention, dry_run);
  if (!report) {
    return fail(ErrorCode::StoreFailed, "{}", report.error().message);
  }
  std::vector<std::string> lines;
  for (const auto& decision : report->decisions) {
    lines.push_back(fmt::format("{}: {} ({})", decision.id,
                                decision.keep ? "keep" : "delete",
                                fmt::join(decision.reasons, ", ")));
  }
  if (!dry_run && !report->deleted.empty()) {
    emit(CheckpointsChangedEvent{job});
  }
  // A renamed job's retention covers the checkpoints of its former names.
  auto former = prune_former_names(*entry.job, dry_run);
  lines.insert(lines.end(), former.begin(), former.end());
  return lines;
}

MResult<VerifyReport> Manager::verify(const Caller& caller, const std::string& job,
                                      const std::string& checkpoint) {
  STASIS_TRY(authorized_job(caller, job, Action::List));
  std::optional<std::uint64_t> id;
  if (!checkpoint.empty()) {
    id = STASIS_TRY(existing_checkpoint(job, checkpoint));
  }
  auto report = m_store.verify(job, id);
  if (!report) {
    return fail(ErrorCode::StoreFailed, "{}", report.error().message);
  }
  VerifyReport result;
  result.ok = report->ok();
  for (const auto& damaged : report->damaged) {
    for (const auto& problem : damaged.problems) {
      result.problems.push_back(fmt::format("checkpoint {}: {}", damaged.id, problem));
    }
  }
  return result;
}

} // namespace stasis::manager
