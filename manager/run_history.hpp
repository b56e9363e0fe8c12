// Persisted run records in the state directory.
//
// The file is JSON lines, one full RunInfo snapshot per line, appended (and
// fdatasync'ed) at every state change; on load the last line of a run id wins.
// A torn last line (the daemon was killed mid-write) is dropped with a warning
// and cut off the file; a bad line in the middle is skipped with a warning.
// When the file holds more than three lines per kept run, it is compacted: the
// newest max_runs runs, plus the newest run of every job, are rewritten to a
// temporary file that is fsync'ed and renamed over the old one.
// Jobs whose names start with a capped prefix (the users' ad-hoc jobs, see
// limit_job_runs) keep only their newest runs, so that no user's runs push
// the others' out of the history.
//
// Last-run times for the scheduler's persistent catch-up are derived from the
// history (last_checkpoint_times()); compaction keeps each job's newest run so
// they survive it. All methods are thread-safe.
#pragma once

#include "manager/api.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace stasis::manager {

class RunHistory {
public:
  // Opens (creating if needed) the history file; loads and repairs it. sync =
  // false skips fdatasync after each record and fsync on compaction (for tests
  // only: not crash-safe).
  static Result<std::unique_ptr<RunHistory>>
  open(const std::filesystem::path& file, std::size_t max_runs = 10000, bool sync = true);
  ~RunHistory();
  RunHistory(const RunHistory&) = delete;
  RunHistory& operator=(const RunHistory&) = delete;

  // Records a run's current state (insert or update by id), durably.
  Result<void> record(const RunInfo& run);

  // The run with that id, if known.
  std::optional<RunInfo> find(const std::string& id) const;

  // Runs of a job (all jobs if job is empty), newest first, at most limit (0 = all).
  std::vector<RunInfo> list(const std::string& job, std::size_t limit = 0) const;

  // The newest run of a job (of that kind, when given) that reached a final
  // state, for LastRun/LastResult and LastPush/LastPushResult.
  std::optional<RunInfo> last_finished(const std::string& job,
                                       std::optional<RunKind> kind = std::nullopt) const;

  // Per job, when its newest checkpoint run (of any outcome, skipped included)
  // started (or finished, for runs that never started): the scheduler's last runs.
  std::map<std::string, TimePoint> last_checkpoint_times() const;

  // Runs still Queued/Running (left over from a daemon that died).
  std::vector<RunInfo> unfinished() const;

  // Hands every unfinished run to settle, which gives it a final state, and
  // records it; returns how many.
  Result<std::size_t> settle_unfinished(const std::function<void(RunInfo&)>& settle);

  // Keeps at most max_runs runs of each job whose name starts with prefix: a
  // new run of such a job drops its oldest finished ones (from now on, and
  // from the runs held now; the file sheds them when it is next compacted).
  void limit_job_runs(std::string prefix, std::size_t max_runs);

  // Rewrites the file with one line per kept run (see above).
  Result<void> compact();

  // Number of runs held and of lines in the file (for tests and diagnostics).
  std::size_t size() const;
  std::size_t file_lines() const;

private:
  RunHistory(std::filesystem::path file, std::size_t max_runs, bool sync);
  Result<void> load();
  Result<void> append_line(const std::string& line);
  Result<void> compact_locked();
  void remember(const RunInfo& run);
  bool capped(const std::string& job) const;
  void enforce_cap_locked(const std::string& job);
  void forget_locked(std::uint64_t sequence);

  struct Entry {
    RunInfo run;
    std::uint64_t sequence = 0; // order of first appearance: higher = newer
  };

  std::filesystem::path m_file;
  std::size_t m_max_runs;
  bool m_sync;
  mutable std::mutex m_mutex;
  int m_fd = -1;
  std::size_t m_lines = 0;
  std::uint64_t m_next_sequence = 0;
  std::unordered_map<std::string, Entry> m_runs;
  std::map<std::uint64_t, std::string> m_order; // sequence -> id
  std::string m_capped_prefix;                  // "" = no job is capped
  std::size_t m_max_runs_per_capped_job = 0;
  std::map<std::string, std::set<std::uint64_t>> m_capped_runs; // job -> sequences
};

// JSON form of a run record (one history line), and back.
std::string run_to_json_line(const RunInfo& run);
std::optional<RunInfo> run_from_json_line(const std::string& line);

} // namespace stasis::manager
