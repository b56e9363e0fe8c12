// Runs jobs' work with a global concurrency limit, never two runs of one job
// at once, and no user able to crowd out the others or the scheduled jobs.
//
// Rules:
// - On-demand requests queue per job: runs of one job never overlap (its
//   pushes and pulls form a lane of their own beside its checkpoints and
//   restores: one of each may run at once), and one
//   caller's runs of a job run in submission order, so 50 concurrent requests
//   over 5 jobs are all run, none overlapping within a job.
// - A scheduled request for a job that has a run queued or running is not
//   queued: it is recorded at once as Skipped (error names the blocking run),
//   announced with RunFinished, and its id is returned.
// - Priority runs (scheduled ones and root's) and user runs (those of callers
//   other than root) are taken apart. A free worker takes the oldest priority
//   run whose job is free; failing that, a user run, the callers taking turns
//   (round robin by uid; each caller's oldest run whose job is free). At most
//   max_concurrent runs execute at once (one worker thread each), of which
//   user runs hold at most max_concurrent - 1 (1 when max_concurrent is 1),
//   so one worker is always left for priority runs.
// - A user may have at most max_queued_per_user runs queued (not yet
//   running); submit() refuses more with Busy and records nothing.
// - cancel(): a queued run becomes Cancelled immediately; a running run has its
//   stop token fired, and ends Cancelled when its work returns anything but
//   success (work that finishes despite the request ends Succeeded).
// - Every state change (Queued, Running, final) is recorded in the RunHistory
//   (if given); events go to the EventSink: RunStarted, RunProgress (from the
//   work), RunFinished - in that order for a run, from the thread that runs it.
#pragma once

#include "manager/api.hpp"
#include "manager/clock.hpp"
#include "manager/progress_throttle.hpp"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace stasis::manager {

class RunHistory;

// What a run's work reports back.
struct RunOutcome {
  RunState state = RunState::Succeeded; // Succeeded, Failed or Cancelled
  std::string checkpoint;
  pid_t pid = 0;
  std::string error;
  std::uint64_t frozen_usec = 0;
  std::uint64_t logical_bytes = 0;
  std::uint64_t stored_bytes = 0;
  std::string remote{}; // push/pull: the registry's copy (failed: the reference tried)
};

// Handed to the work of a run: who it is, its stop token, progress reports.
class RunContext {
public:
  RunContext(std::string run_id, std::string job, RunKind kind, std::stop_token stop,
             std::function<void(const RunProgressEvent&)> progress,
             std::function<void(pid_t)> record_pid = {})
      : m_run_id(std::move(run_id)), m_job(std::move(job)), m_kind(kind),
        m_stop(std::move(stop)), m_progress(std::move(progress)),
        m_record_pid(std::move(record_pid)) {}

  const std::string& run_id() const { return m_run_id; }
  const std::string& job() const { return m_job; }
  RunKind kind() const { return m_kind; }
  // Fired by cancel() and shutdown(); long work must check it.
  std::stop_token stop_token() const { return m_stop; }
  bool stop_requested() const { return m_stop.stop_requested(); }
  // Announces progress as a RunProgress event: bytes done of total in a
  // phase (0/0 when the phase counts no bytes), at most about ten a second
  // (manager/progress_throttle.hpp). Any thread of the run may call it.
  void progress(const std::string& phase, std::uint64_t done, std::uint64_t total) {
    std::lock_guard lock(m_progress_mutex);
    if (m_throttle.admit(phase, done, total, std::chrono::steady_clock::now())) {
      m_progress(RunProgressEvent{m_run_id, phase, done, total, m_job});
    }
  }
  // Records a pid the run has made (a restored tree's) in the history at once,
  // with what tells it from a later process of the same pid: if stasisd dies
  // before the run ends, the next one finds out what became of the tree.
  void record_pid(pid_t pid) {
    if (m_record_pid) {
      m_record_pid(pid);
    }
  }

private:
  std::string m_run_id;
  std::string m_job;
  RunKind m_kind;
  std::stop_token m_stop;
  std::function<void(const RunProgressEvent&)> m_progress;
  std::function<void(pid_t)> m_record_pid;
  std::mutex m_progress_mutex;
  ProgressThrottle m_throttle;
};

using RunWork = std::function<RunOutcome(RunContext&)>;

// A request to run work for a job.
struct RunRequest {
  std::string job;
  RunKind kind = RunKind::Checkpoint;
  bool scheduled = false; // scheduled runs are skipped, not queued, when busy
  RunWork work;
  uid_t caller = 0; // who asked; 0 for root and for scheduled runs
};

// How much the queue runs at once and how much one user may queue.
struct QueueLimits {
  // Runs executing at once (one worker thread each); at least 1.
  unsigned max_concurrent = 2;
  // Queued runs one caller other than root may have; 0 = no limit.
  unsigned max_queued_per_user = 0;
};

class RunQueue {
public:
  // history may be null (no persistence); it must outlive the queue.
  RunQueue(QueueLimits limits, const Clock& clock, RunHistory* history = nullptr);
  ~RunQueue();
  RunQueue(const RunQueue&) = delete;
  RunQueue& operator=(const RunQueue&) = delete;

  // Sets the receiver of run events.
  void set_event_sink(EventSink sink);

  // Queues (or skips, see above) a run; returns its id "r-<unix-ms>-<counter>".
  // Busy when the caller has max_queued_per_user runs queued already.
  MResult<std::string> submit(RunRequest request);

  // Cancels a queued or running run.
  MResult<void> cancel(const std::string& run);

  // A run's current record: active runs from memory, others from the history.
  std::optional<RunInfo> get(const std::string& run) const;

  // Runs queued or running now, in submission order.
  std::vector<RunInfo> active() const;

  // True if the job has a run queued or running.
  bool busy(const std::string& job) const;

  // Blocks until no run is queued or running.
  void wait_idle();

  // Cancels queued runs, stops running ones and joins the workers. Idempotent.
  void shutdown();

private:
  struct ActiveRun {
    RunInfo info;
    RunWork work;
    std::stop_source stop;
    uid_t caller = 0;
    bool user = false; // a user run (see above), not a priority run
  };

  std::string next_id_locked(TimePoint now);
  MResult<void> admit_locked(const RunRequest& request) const;
  // The pending run a free worker should start, or m_pending.end().
  std::deque<std::string>::iterator pick_locked();
  void record_pid(const std::string& id, pid_t pid);
  void worker();
  void finish(const std::string& id, RunOutcome outcome);
  void record(const RunInfo& run);
  void emit(const Event& event);

  const QueueLimits m_limits;
  const unsigned m_user_slots; // workers user runs may hold at once
  const Clock& m_clock;
  RunHistory* m_history;
  mutable std::mutex m_mutex;
  std::condition_variable m_work_cv;
  std::condition_variable m_idle_cv;
  EventSink m_sink;
  bool m_stopping = false;
  std::uint64_t m_counter = 0;
  std::map<std::string, ActiveRun> m_active;
  std::deque<std::string> m_pending; // queued run ids, submission order
  std::set<std::string> m_running_jobs;
  unsigned m_users_running = 0;     // user runs executing now
  std::optional<uid_t> m_last_user; // the caller whose run started last
  std::vector<std::thread> m_workers;
};

} // namespace stasis::manager
