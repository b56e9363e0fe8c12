#include "manager/run_queue.hpp"

#include "manager/daemon_config.hpp"
#include "manager/process_identity.hpp"
#include "manager/run_history.hpp"
#include "util/log.hpp"
#include "util/log_context.hpp"

#include <algorithm>
#include <exception>

namespace stasis::manager {
namespace {

// The workers user runs may hold: all but one, when there are two or more.
unsigned user_slots(unsigned workers) {
  return workers > 1 ? workers - 1 : 1;
}

} // namespace

RunQueue::RunQueue(QueueLimits limits, const Clock& clock, RunHistory* history)
    : m_limits(limits), m_user_slots(user_slots(std::max(1u, limits.max_concurrent))),
      m_clock(clock), m_history(history) {
  for (unsigned i = 0; i < std::max(1u, limits.max_concurrent); ++i) {
    m_workers.emplace_back([this] { worker(); });
  }
}

RunQueue::~RunQueue() {
  shutdown();
}

void RunQueue::set_event_sink(EventSink sink) {
  std::lock_guard lock(m_mutex);
  m_sink = std::move(sink);
}

void RunQueue::emit(const Event& event) {
  EventSink sink;
  {
    std::lock_guard lock(m_mutex);
    sink = m_sink;
  }
  if (sink) {
    sink(event);
  }
}

void RunQueue::record(const RunInfo& run) {
  if (m_history == nullptr) {
    return;
  }
  if (auto recorded = m_history->record(run); !recorded) {
    log::get("manager")->warn("run {} of job {}: {}", run.id, run.job,
                              recorded.error().message);
  }
}

// The lane a run holds while it runs: a job's checkpoints and restores share
// one; its pushes, pulls, exports and imports (which only read or add stored
// checkpoints) run in a second, so a slow registry or reader never delays a
// checkpoint.
std::string lane_of(const std::string& job, RunKind kind) {
  const bool transfer = kind == RunKind::Push || kind == RunKind::Pull ||
                        kind == RunKind::Export || kind == RunKind::Import;
  return transfer ? job + "\n" + "remote" : job;
}

std::string RunQueue::next_id_locked(TimePoint now) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  return fmt::format("r-{:013}-{:06}", ms.count(), ++m_counter);
}

MResult<void> RunQueue::admit_locked(const RunRequest& request) const {
  if (m_stopping) {
    return fail(ErrorCode::Busy, "stasisd is stopping; run of job {} not started",
                request.job);
  }
  const unsigned limit = m_limits.max_queued_per_user;
  if (request.scheduled || request.caller == 0 || limit == 0) {
    return {};
  }
  const auto queued =
      std::count_if(m_active.begin(), m_active.end(), [&](const auto& entry) {
        const ActiveRun& run = entry.second;
        return run.user && run.caller == request.caller &&
               run.info.state == RunState::Queued;
      });
  if (static_cast<unsigned>(queued) >= limit) {
    return fail(ErrorCode::Busy,
                "uid {} already has {} runs queued, the limit for one user (setting {}: "
                "stasisd --{} or {}); wait until some have started, or cancel some",
                request.caller, queued, k_setting_max_queued, k_setting_max_queued,
                k_default_config_file);
  }
  return {};
}

MResult<std::string> RunQueue::submit(RunRequest request) {
  if (request.job.empty() || !request.work) {
    return fail(ErrorCode::InvalidArgument, "a run needs a job and work to do");
  }
  const TimePoint now = m_clock.now();
  RunInfo info;
  info.job = request.job;
  info.kind = request.kind;
  const bool user = !request.scheduled && request.caller != 0;
  {
    std::lock_guard lock(m_mutex);
    STASIS_TRY(admit_locked(request));
    info.id = next_id_locked(now);
    if (request.scheduled) {
      for (const auto& [id, active] : m_active) {
        if (lane_of(active.info.job, active.info.kind) ==
            lane_of(request.job, request.kind)) {
          info.state = RunState::Skipped;
          info.finished = now;
          info.error = fmt::format("skipped: run {} of job {} is still {}", id,
                                   request.job, to_string(active.info.state));
          break;
        }
      }
    }
    if (info.state != RunState::Skipped) {
      // Reserve the job now; workers see the run only after Queued is recorded,
      // so the history never gets Queued after Running.
      info.state = RunState::Queued;
      m_active.emplace(info.id, ActiveRun{info, std::move(request.work),
                                          std::stop_source{}, request.caller, user});
    }
  }
  record(info);
  if (info.state == RunState::Skipped) {
    log::get("manager")->info("{}", info.error);
    emit(RunFinishedEvent{info.id, info.job, info.kind, info.state, "", info.error});
    return info.id;
  }
  {
    std::lock_guard lock(m_mutex);
    if (m_active.count(info.id) != 0) { // not dropped by shutdown meanwhile
      m_pending.push_back(info.id);
    }
  }
  m_work_cv.notify_one();
  return info.id;
}

MResult<void> RunQueue::cancel(const std::string& run) {
  RunInfo cancelled;
  {
    std::lock_guard lock(m_mutex);
    auto found = m_active.find(run);
    if (found == m_active.end()) {
      auto past = m_history ? m_history->find(run) : std::nullopt;
      if (past) {
        return fail(ErrorCode::InvalidArgument, "run {} already finished ({})", run,
                    to_string(past->state));
      }
      return fail(ErrorCode::NoSuchRun, "no run {}", run);
    }
    const RunState state = found->second.info.state;
    if (state != RunState::Queued && state != RunState::Running) {
      return fail(ErrorCode::InvalidArgument, "run {} already finished ({})", run,
                  to_string(state)); // finishing right now
    }
    if (found->second.info.state == RunState::Running) {
      found->second.stop.request_stop();
      return {};
    }
    if (auto pending = std::find(m_pending.begin(), m_pending.end(), run);
        pending != m_pending.end()) {
      m_pending.erase(pending);
    }
    cancelled = found->second.info;
    // Counts as cancelled now: no worker can take it off m_pending any more.
    found->second.info.state = RunState::Cancelled;
  }
  cancelled.state = RunState::Cancelled;
  cancelled.finished = m_clock.now();
  cancelled.error = "cancelled before it started";
  record(cancelled);
  emit(RunFinishedEvent{cancelled.id, cancelled.job, cancelled.kind, cancelled.state, "",
                        cancelled.error});
  {
    std::lock_guard lock(m_mutex);
    m_active.erase(run);
  }
  m_idle_cv.notify_all();
  return {};
}

std::optional<RunInfo> RunQueue::get(const std::string& run) const {
  {
    std::lock_guard lock(m_mutex);
    if (auto found = m_active.find(run); found != m_active.end()) {
      return found->second.info;
    }
  }
  return m_history ? m_history->find(run) : std::nullopt;
}

std::vector<RunInfo> RunQueue::active() const {
  std::lock_guard lock(m_mutex);
  std::vector<RunInfo> runs;
  for (const auto& [id, active] : m_active) {
    runs.push_back(active.info); // ids sort in submission order
  }
  return runs;
}

bool RunQueue::busy(const std::string& job) const {
  std::lock_guard lock(m_mutex);
  return std::any_of(m_active.begin(), m_active.end(),
                     [&](const auto& entry) { return entry.second.info.job == job; });
}

void RunQueue::wait_idle() {
  std::unique_lock lock(m_mutex);
  m_idle_cv.wait(lock, [this] { return m_active.empty(); });
}

std::deque<std::string>::iterator RunQueue::pick_locked() {
  auto job_free = [this](const ActiveRun& run) {
    return m_running_jobs.count(lane_of(run.info.job, run.info.kind)) == 0;
  };
  for (auto it = m_pending.begin(); it != m_pending.end(); ++it) {
    const ActiveRun& run = m_active.at(*it);
    if (!run.user && job_free(run)) {
      return it; // the oldest priority run
    }
  }
  if (m_users_running >= m_user_slots) {
    return m_pending.end();
  }
  // Callers take turns: the uids after the one served last come first, in uid
  // order, then the others from the lowest; a caller's oldest run goes first.
  auto turn = [this](uid_t uid) {
    return std::pair{m_last_user && uid <= *m_last_user, uid};
  };
  auto chosen = m_pending.end();
  for (auto it = m_pending.begin(); it != m_pending.end(); ++it) {
    const ActiveRun& run = m_active.at(*it);
    if (run.user && job_free(run) &&
        (chosen == m_pending.end() ||
         turn(run.caller) < turn(m_active.at(*chosen).caller))) {
      chosen = it;
    }
  }
  return chosen;
}

void RunQueue::record_pid(const std::string& id, pid_t pid) {
  RunInfo info;
  {
    std::lock_guard lock(m_mutex);
    info = m_active.at(id).info; // the run is active until its work returns
  }
  info.pid = pid;
  info.pid_identity = process_identity(pid);
  // In the history first: whoever sees the pid (GetRun) finds it there too.
  record(info);
  std::lock_guard lock(m_mutex);
  ActiveRun& run = m_active.at(id);
  run.info.pid = info.pid;
  run.info.pid_identity = info.pid_identity;
}

void RunQueue::worker() {
  std::unique_lock lock(m_mutex);
  while (true) {
    auto next = m_pending.end();
    m_work_cv.wait(lock, [&] {
      next = pick_locked();
      return m_stopping || next != m_pending.end();
    });
    if (m_stopping) {
      return;
    }
    std::string id = *next;
    m_pending.erase(next);
    ActiveRun& run = m_active.at(id);
    run.info.state = RunState::Running;
    run.info.started = m_clock.now();
    m_running_jobs.insert(lane_of(run.info.job, run.info.kind));
    if (run.user) {
      ++m_users_running;
      m_last_user = run.caller;
    }
    RunInfo info = run.info;
    RunWork work = run.work;
    std::stop_token stop = run.stop.get_token();
    lock.unlock();

    record(info);
    emit(RunStartedEvent{info.id, info.job, info.kind});
    RunContext context(
        info.id, info.job, info.kind, stop,
        [this](const RunProgressEvent& event) { emit(event); },
        [this, id](pid_t pid) { record_pid(id, pid); });
    RunOutcome outcome;
    // The journal entries of the run carry its job and id (util/log_context.hpp).
    log::ContextScope log_context(info.job, info.id, info.checkpoint);
    try {
      outcome = work(context);
    } catch (const std::exception& error) {
      outcome = RunOutcome{RunState::Failed, "", 0,
                           fmt::format("internal error: {}", error.what())};
    }
    finish(id, std::move(outcome));
    lock.lock();
  }
}

void RunQueue::finish(const std::string& id, RunOutcome outcome) {
  RunInfo info;
  {
    std::lock_guard lock(m_mutex);
    ActiveRun& run = m_active.at(id);
    info = run.info;
    bool stopped = run.stop.stop_requested();
    info.state = outcome.state;
    if (info.state != RunState::Succeeded && info.state != RunState::Cancelled) {
      info.state = stopped ? RunState::Cancelled : RunState::Failed;
    }
    info.checkpoint = outcome.checkpoint;
    if (outcome.pid != info.pid) {
      info.pid_identity.clear(); // recorded for another pid (record_pid)
    }
    info.pid = outcome.pid;
    info.error = outcome.error;
    if (info.state == RunState::Cancelled && info.error.empty()) {
      info.error = "cancelled while running";
    }
    info.frozen_usec = outcome.frozen_usec;
    info.logical_bytes = outcome.logical_bytes;
    info.stored_bytes = outcome.stored_bytes;
    info.remote = outcome.remote;
    info.finished = m_clock.now();
  }
  // Record before the run leaves the active set: whoever sees it gone (wait_idle,
  // a RunFinished listener) finds its final state in the history.
  // The event goes out before too, so wait_idle() returns after every event.
  record(info);
  {
    std::lock_guard lock(m_mutex);
    m_active.at(id).info = info;
  }
  emit(RunFinishedEvent{info.id, info.job, info.kind, info.state, info.checkpoint,
                        info.error});
  {
    std::lock_guard lock(m_mutex);
    m_running_jobs.erase(lane_of(info.job, info.kind));
    if (m_active.at(id).user) {
      --m_users_running;
    }
    m_active.erase(id);
  }
  m_work_cv.notify_all(); // the job (and maybe a user's worker) is free again
  m_idle_cv.notify_all();
}

void RunQueue::shutdown() {
  std::vector<RunInfo> dropped;
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping && m_workers.empty()) {
      return;
    }
    m_stopping = true;
    m_pending.clear();
    for (auto it = m_active.begin(); it != m_active.end();) {
      if (it->second.info.state == RunState::Queued) {
        dropped.push_back(it->second.info);
        it = m_active.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [id, run] : m_active) {
      run.stop.request_stop();
    }
  }
  m_work_cv.notify_all();
  for (auto& worker : m_workers) {
    worker.join();
  }
  m_workers.clear();
  for (auto& run : dropped) {
    run.state = RunState::Cancelled;
    run.finished = m_clock.now();
    run.error = "stasisd stopped before the run started";
    record(run);
    emit(RunFinishedEvent{run.id, run.job, run.kind, run.state, "", run.error});
  }
  m_idle_cv.notify_all();
}

} // namespace stasis::manager
