// When scheduled jobs are due: systemd-timer semantics over an injected Clock.
//
// Each job has a next-fire function (the policy's schedule), an optional
// random delay in [0, jitter) added to each due time, and a persistent flag:
// a persistent job whose last run (from the run history) lies before a due
// time that has passed fires once right away when it is added - once, however
// many periods were missed. Firing sets the job's last run to the firing time
// and schedules the next due time after it.
//
// tick(now) fires every job due at or before now and returns the next wake-up
// time; the worker thread started by start() only waits on a condition
// variable until that time or until the job set changes - no polling, so an
// idle daemon with 1,000 jobs costs no CPU. Unit tests call tick() directly.
//
// The fire callback runs on the caller of tick() (the worker thread) without
// the scheduler's lock held; it should only hand the job to the run queue.
#pragma once

#include "manager/clock.hpp"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace stasis::manager {

// The next due time strictly after `after`, given the job's last run; nothing
// = never again.
using NextFireFunction = std::function<std::optional<TimePoint>(
    TimePoint after, std::optional<TimePoint> last_run)>;

// Whether a run was missed between last_run and now (persistent catch-up).
using MissedRunFunction =
    std::function<bool(std::optional<TimePoint> last_run, TimePoint now)>;

// One scheduled job.
struct ScheduledJob {
  std::string name;
  // Identifies the schedule settings: a job re-added by set_jobs() with the same
  // name and fingerprint keeps its pending due time (and jitter).
  std::string fingerprint;
  NextFireFunction next_fire;
  std::chrono::milliseconds jitter{0};
  bool persistent = false;
  // Default: the schedule had a due time after the last run that is <= now.
  MissedRunFunction missed_run;
};

// Called when a job is due, with its (unjittered) due time.
using FireCallback = std::function<void(const std::string& job, TimePoint due)>;

class Scheduler {
public:
  // seed makes jitter reproducible in tests.
  Scheduler(const Clock& clock, FireCallback fire,
            std::uint64_t seed = std::random_device{}());
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Replaces the set of jobs (at start and on reload). last_runs fills in
  // last-run times the scheduler does not know yet (e.g. from the history);
  // times it already knows are kept, so a reload loses none.
  void set_jobs(std::vector<ScheduledJob> jobs,
                const std::map<std::string, TimePoint>& last_runs = {});

  // Fires the jobs due at or before now; returns the earliest pending time.
  std::optional<TimePoint> tick(TimePoint now);

  // When a job fires next (jitter included), for JobInfo.next_run.
  std::optional<TimePoint> next_fire_time(const std::string& job) const;

  // The job's last run as the scheduler knows it.
  std::optional<TimePoint> last_run(const std::string& job) const;

  // Starts/stops the worker thread that calls tick() when something is due.
  void start();
  void stop();

private:
  struct JobState {
    ScheduledJob job;
    std::optional<TimePoint> due;
    TimePoint fire_at;
  };

  void schedule_locked(JobState& state, std::optional<TimePoint> due);
  void unschedule_locked(const JobState& state);
  std::chrono::milliseconds draw_jitter_locked(std::chrono::milliseconds jitter);
  void run();

  const Clock& m_clock;
  FireCallback m_fire;
  mutable std::mutex m_mutex;
  std::condition_variable m_changed_cv;
  bool m_changed = false;
  bool m_stopping = false;
  std::mt19937_64 m_random;
  std::map<std::string, JobState> m_jobs;
  std::map<std::string, TimePoint> m_last_runs;
  std::set<std::pair<TimePoint, std::string>> m_queue; // (fire_at, job)
  std::thread m_thread;
};

} // namespace stasis::manager
