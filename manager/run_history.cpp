#include "manager/run_history.hpp"

#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <set>
#include <unistd.h>

namespace stasis::manager {
namespace {

bool is_final(RunState state) {
  return state != RunState::Queued && state != RunState::Running;
}

Result<void> write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return make_error("write failed: {}", std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return ok();
}

} // namespace

RunHistory::RunHistory(std::filesystem::path file, std::size_t max_runs, bool sync)
    : m_file(std::move(file)), m_max_runs(max_runs == 0 ? 1 : max_runs), m_sync(sync) {}

RunHistory::~RunHistory() {
  if (m_fd >= 0) {
    close(m_fd);
  }
}

Result<std::unique_ptr<RunHistory>> RunHistory::open(const std::filesystem::path& file,
                                                     std::size_t max_runs, bool sync) {
  std::unique_ptr<RunHistory> history(new RunHistory(file, max_runs, sync));
  STASIS_TRY(history->load());
  return history;
}

void RunHistory::remember(const RunInfo& run) {
  auto found = m_runs.find(run.id);
  if (found != m_runs.end()) {
    found->second.run = run;
    return;
  }
  std::uint64_t sequence = m_next_sequence++;
  m_runs.emplace(run.id, Entry{run, sequence});
  m_order.emplace(sequence, run.id);
  if (capped(run.job)) {
    m_capped_runs[run.job].insert(sequence);
    enforce_cap_locked(run.job);
  }
}

bool RunHistory::capped(const std::string& job) const {
  return !m_capped_prefix.empty() && job.starts_with(m_capped_prefix);
}

void RunHistory::enforce_cap_locked(const std::string& job) {
  auto& sequences = m_capped_runs[job];
  auto oldest = sequences.begin();
  while (sequences.size() > m_max_runs_per_capped_job && oldest != sequences.end()) {
    const std::uint64_t sequence = *oldest++;
    if (is_final(m_runs.at(m_order.at(sequence)).run.state)) {
      forget_locked(sequence); // erases from sequences too
    }
  }
}

void RunHistory::forget_locked(std::uint64_t sequence) {
  auto id = m_order.find(sequence);
  if (id == m_order.end()) {
    return;
  }
  auto entry = m_runs.find(id->second);
  if (auto job = m_capped_runs.find(entry->second.run.job); job != m_capped_runs.end()) {
    job->second.erase(sequence);
    if (job->second.empty()) {
      m_capped_runs.erase(job);
    }
  }
  m_runs.erase(entry);
  m_order.erase(id);
}

void RunHistory::limit_job_runs(std::string prefix, std::size_t max_runs) {
  std::lock_guard lock(m_mutex);
  m_capped_prefix = std::move(prefix);
  m_max_runs_per_capped_job = std::max<std::size_t>(1, max_runs);
  m_capped_runs.clear();
  for (const auto& [sequence, id] : m_order) {
    const std::string& job = m_runs.at(id).run.job;
    if (capped(job)) {
      m_capped_runs[job].insert(sequence);
    }
  }
  std::vector<std::string> jobs;
  for (const auto& [job, sequences] : m_capped_runs) {
    jobs.push_back(job);
  }
  for (const auto& job : jobs) {
    enforce_cap_locked(job);
  }
}

Result<void> RunHistory::load() {
  auto logger = log::get("manager");
  std::error_code ec;
  std::filesystem::create_directories(m_file.parent_path(), ec);
  std::string text;
  {
    std::ifstream in(m_file, std::ios::binary);
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      text.append(buffer, static_cast<std::size_t>(in.gcount()));
    }
  }
  std::size_t good_end = 0; // offset after the last line worth keeping
  std::size_t start = 0;
  while (start < text.size()) {
    auto newline = text.find('\n', start);
    bool complete = newline != std::string::npos;
    std::string line = text.substr(start, complete ? newline - start : std::string::npos);
    std::size_t next = complete ? newline + 1 : text.size();
    auto run = line.empty() ? std::nullopt : run_from_json_line(line);
    if (run) {
      if (complete) {
        remember(*run);
        ++m_lines;
        good_end = next;
      } else {
        logger->warn("{}: the last record has no line end (torn write); dropping it",
                     m_file.string());
      }
    } else if (next >= text.size()) {
      logger->warn("{}: the last record is torn or corrupt; dropping it",
                   m_file.string());
    } else if (!line.empty()) {
      logger->warn("{}: skipping a corrupt record at byte {}", m_file.string(), start);
      good_end = next;
    } else {
      good_end = next;
    }
    start = next;
  }

  m_fd = ::open(m_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (m_fd < 0) {
    return make_error("cannot open run history {}: {}", m_file.string(),
                      std::strerror(errno));
  }
  if (good_end < text.size() && ftruncate(m_fd, static_cast<off_t>(good_end)) != 0) {
    return make_error("cannot cut the torn end off {}: {}", m_file.string(),
                      std::strerror(errno));
  }
  return ok();
}

Result<void> RunHistory::append_line(const std::string& line) {
  auto written = write_all(m_fd, line + "\n");
  if (!written) {
    return make_error("cannot append to run history {}: {}", m_file.string(),
                      written.error().message);
  }
  if (m_sync && fdatasync(m_fd) != 0) {
    return make_error("cannot sync run history {}: {}", m_file.string(),
                      std::strerror(errno));
  }
  ++m_lines;
  return ok();
}

Result<void> RunHistory::record(const RunInfo& run) {
  if (run.id.empty()) {
    return make_error("a run record needs an id");
  }
  std::lock_guard lock(m_mutex);
  STASIS_TRY(append_line(run_to_json_line(run)));
  remember(run);
  if (m_lines > 3 * std::min(m_runs.size(), m_max_runs) + 16) {
    STASIS_TRY(compact_locked());
  }
  return ok();
}

std::optional<RunInfo> RunHistory::find(const std::string& id) const {
  std::lock_guard lock(m_mutex);
  auto found = m_runs.find(id);
  if (found == m_runs.end()) {
    return std::nullopt;
  }
  return found->second.run;
}

std::vector<RunInfo> RunHistory::list(const std::string& job, std::size_t limit) const {
  std::lock_guard lock(m_mutex);
  std::vector<RunInfo> result;
  for (auto it = m_order.rbegin(); it != m_order.rend(); ++it) {
    const RunInfo& run = m_runs.at(it->second).run;
    if (job.empty() || run.job == job) {
      result.push_back(run);
      if (limit != 0 && result.size() >= limit) {
        break;
      }
    }
  }
  return result;
}

std::optional<RunInfo> RunHistory::last_finished(const std::string& job,
                                                 std::optional<RunKind> kind) const {
  std::lock_guard lock(m_mutex);
  for (auto it = m_order.rbegin(); it != m_order.rend(); ++it) {
    const RunInfo& run = m_runs.at(it->second).run;
    if (run.job == job && is_final(run.state) && (!kind || run.kind == *kind)) {
      return run;
    }
  }
  return std::nullopt;
}

std::map<std::string, TimePoint> RunHistory::last_checkpoint_times() const {
  std::lock_guard lock(m_mutex);
  std::map<std::string, TimePoint> times;
  for (const auto& [id, entry] : m_runs) {
    const RunInfo& run = entry.run;
    auto when = run.started ? run.started : run.finished;
    if (run.kind != RunKind::Checkpoint || !when) {
      continue;
    }
    auto [it, inserted] = times.emplace(run.job, *when);
    if (!inserted && it->second < *when) {
      it->second = *when;
    }
  }
  return times;
}

std::vector<RunInfo> RunHistory::unfinished() const {
  std::lock_guard lock(m_mutex);
  std::vector<RunInfo> result;
  for (const auto& [sequence, id] : m_order) {
    if (!is_final(m_runs.at(id).run.state)) {
      result.push_back(m_runs.at(id).run);
    }
  }
  return result;
}

Result<std::size_t>
RunHistory::settle_unfinished(const std::function<void(RunInfo&)>& settle) {
  auto runs = unfinished();
  for (auto& run : runs) {
    settle(run);
    STASIS_TRY(record(run));
  }
  return runs.size();
}

Result<void> RunHistory::compact() {
  std::lock_guard lock(m_mutex);
  return compact_locked();
}

Result<void> RunHistory::compact_locked() {
  // Keep the newest m_max_runs runs and the newest run of every job.
  std::set<std::uint64_t> keep;
  std::set<std::string> jobs_seen;
  std::size_t newest = 0;
  for (auto it = m_order.rbegin(); it != m_order.rend(); ++it) {
    const RunInfo& run = m_runs.at(it->second).run;
    if (newest < m_max_runs || jobs_seen.count(run.job) == 0) {
      keep.insert(it->first);
    }
    ++newest;
    jobs_seen.insert(run.job);
  }
  std::string text;
  for (auto sequence : keep) {
    text += run_to_json_line(m_runs.at(m_order.at(sequence)).run) + "\n";
  }

  auto temp = m_file;
  temp += ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return make_error("cannot write {}: {}", temp.string(), std::strerror(errno));
  }
  auto written = write_all(fd, text);
  bool synced = written && (!m_sync || fsync(fd) == 0);
  close(fd);
  if (!synced || std::rename(temp.c_str(), m_file.c_str()) != 0) {
    std::filesystem::remove(temp);
    return make_error("cannot compact run history {}: {}", m_file.string(),
                      written ? std::strerror(errno) : written.error().message);
  }
  int dir = m_sync
                ? ::open(m_file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                : -1;
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  int fresh = ::open(m_file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fresh < 0) {
    return make_error("cannot reopen run history {}: {}", m_file.string(),
                      std::strerror(errno));
  }
  close(m_fd);
  m_fd = fresh;

  std::vector<std::uint64_t> dropped;
  for (const auto& [sequence, id] : m_order) {
    if (keep.count(sequence) == 0) {
      dropped.push_back(sequence);
    }
  }
  for (auto sequence : dropped) {
    forget_locked(sequence);
  }
  m_lines = keep.size();
  return ok();
}

std::size_t RunHistory::size() const {
  std::lock_guard lock(m_mutex);
  return m_runs.size();
}

std::size_t RunHistory::file_lines() const {
  std::lock_guard lock(m_mutex);
  return m_lines;
}

} // namespace stasis::manager
