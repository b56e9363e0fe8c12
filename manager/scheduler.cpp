#include "manager/scheduler.hpp"

#include "util/log.hpp"

namespace stasis::manager {
namespace {

bool default_missed(const NextFireFunction& next_fire, std::optional<TimePoint> last_run,
                    TimePoint now) {
  if (!last_run) {
    return false; // never ran: nothing to catch up on
  }
  auto due = next_fire(*last_run, last_run);
  return due && *due <= now;
}

} // namespace

Scheduler::Scheduler(const Clock& clock, FireCallback fire, std::uint64_t seed)
    : m_clock(clock), m_fire(std::move(fire)), m_random(seed) {}

Scheduler::~Scheduler() {
  stop();
}

std::chrono::milliseconds
Scheduler::draw_jitter_locked(std::chrono::milliseconds jitter) {
  if (jitter.count() <= 0) {
    return std::chrono::milliseconds(0);
  }
  std::uniform_int_distribution<std::int64_t> spread(0, jitter.count() - 1);
  return std::chrono::milliseconds(spread(m_random));
}

void Scheduler::unschedule_locked(const JobState& state) {
  if (state.due) {
    m_queue.erase({state.fire_at, state.job.name});
  }
}

void Scheduler::schedule_locked(JobState& state, std::optional<TimePoint> due) {
  unschedule_locked(state);
  state.due = due;
  if (due) {
    state.fire_at = *due + draw_jitter_locked(state.job.jitter);
    m_queue.emplace(state.fire_at, state.job.name);
  }
}

void Scheduler::set_jobs(std::vector<ScheduledJob> jobs,
                         const std::map<std::string, TimePoint>& last_runs) {
  const TimePoint now = m_clock.now();
  {
    std::lock_guard lock(m_mutex);
    for (const auto& [name, when] : last_runs) {
      m_last_runs.try_emplace(name, when);
    }
    std::map<std::string, JobState> previous = std::move(m_jobs);
    m_jobs.clear();
    m_queue.clear();
    for (auto& job : jobs) {
      std::string name = job.name;
      auto old = previous.find(name);
      if (old != previous.end() && old->second.job.fingerprint == job.fingerprint) {
        JobState kept = std::move(old->second);
        kept.job = std::move(job);
        if (kept.due) {
          m_queue.emplace(kept.fire_at, name);
        }
        m_jobs.emplace(name, std::move(kept));
        continue;
      }
      std::optional<TimePoint> last;
      if (auto found = m_last_runs.find(name); found != m_last_runs.end()) {
        last = found->second;
      }
      bool missed = false;
      if (job.persistent) {
        missed = job.missed_run ? job.missed_run(last, now)
                                : default_missed(job.next_fire, last, now);
      }
      auto [it, inserted] =
          m_jobs.emplace(name, JobState{std::move(job), std::nullopt, {}});
      if (missed) {
        // Catch up once, right away (no jitter), however many runs were missed.
        it->second.due = now;
        it->second.fire_at = now;
        m_queue.emplace(now, name);
      } else {
        schedule_locked(it->second, it->second.job.next_fire(now, last));
      }
    }
    m_changed = true;
  }
  m_changed_cv.notify_all();
}

std::optional<TimePoint> Scheduler::tick(TimePoint now) {
  std::vector<std::pair<std::string, TimePoint>> fired;
  std::optional<TimePoint> next;
  {
    std::lock_guard lock(m_mutex);
    while (!m_queue.empty() && m_queue.begin()->first <= now) {
      std::string name = m_queue.begin()->second;
      JobState& state = m_jobs.at(name);
      fired.emplace_back(name, *state.due);
      m_last_runs[name] = now;
      auto due = state.job.next_fire(now, now);
      if (due && *due <= now) {
        log::get("manager")->warn("schedule of job {} returned a time not after now; "
                                  "retrying in a second",
                                  name);
        due = now + std::chrono::seconds(1);
      }
      schedule_locked(state, due);
    }
    if (!m_queue.empty()) {
      next = m_queue.begin()->first;
    }
  }
  for (const auto& [name, due] : fired) {
    m_fire(name, due);
  }
  return next;
}

std::optional<TimePoint> Scheduler::next_fire_time(const std::string& job) const {
  std::lock_guard lock(m_mutex);
  auto found = m_jobs.find(job);
  if (found == m_jobs.end() || !found->second.due) {
    return std::nullopt;
  }
  return found->second.fire_at;
}

std::optional<TimePoint> Scheduler::last_run(const std::string& job) const {
  std::lock_guard lock(m_mutex);
  auto found = m_last_runs.find(job);
  if (found == m_last_runs.end()) {
    return std::nullopt;
  }
  return found->second;
}

void Scheduler::start() {
  std::lock_guard lock(m_mutex);
  if (m_thread.joinable()) {
    return;
  }
  m_stopping = false;
  m_thread = std::thread([this] { run(); });
}

void Scheduler::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_changed_cv.notify_all();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void Scheduler::run() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    m_changed = false;
    lock.unlock();
    auto next = tick(m_clock.now());
    lock.lock();
    auto woken = [this] { return m_stopping || m_changed; };
    if (next) {
      m_changed_cv.wait_until(lock, *next, woken);
    } else {
      m_changed_cv.wait(lock, woken);
    }
  }
}

} // namespace stasis::manager
