#include "manager/interrupted_runs.hpp"

#include "manager/process_identity.hpp"
#include "manager/run_history.hpp"

#include <set>

namespace stasis::manager {
namespace {

// What became of the tree of an interrupted restore.
std::string restored_tree_fate(const RunInfo& run) {
  if (run.pid <= 0) {
    return "before CRIU reported a restored tree (if CRIU finished, the tree runs "
           "but its pid is unknown)";
  }
  const std::string head = fmt::format("after CRIU restored the tree as pid {}", run.pid);
  switch (pid_fate(run.pid, run.pid_identity)) {
  case PidFate::Same:
    return process_stopped(run.pid)
               ? fmt::format("{}, which is still that tree but stopped (resume it with "
                             "kill -CONT {})",
                             head, run.pid)
               : fmt::format("{}, which is still that tree and runs", head);
  case PidFate::Replaced:
    return fmt::format("{}; that tree is gone and pid {} is another process now", head,
                       run.pid);
  case PidFate::Unknown:
    return fmt::format("{}; pid {} is taken, by that tree or by a later process", head,
                       run.pid);
  case PidFate::Gone:
    break;
  }
  return fmt::format("{}, which has exited since", head);
}

} // namespace

StoredSince checkpoints_stored_since(const store::Store& store,
                                     const RunHistory& history) {
  return [&store, &history](const std::string& job,
                            TimePoint since) -> std::optional<std::string> {
    auto checkpoints = store.list(job);
    if (!checkpoints) {
      return std::nullopt;
    }
    std::set<std::string> claimed;
    for (const auto& run : history.list(job)) {
      if (run.kind == RunKind::Checkpoint && !run.checkpoint.empty()) {
        claimed.insert(run.checkpoint);
      }
    }
    const auto from = std::chrono::floor<std::chrono::seconds>(since);
    for (auto it = checkpoints->rbegin(); it != checkpoints->rend(); ++it) {
      const std::string id = std::to_string(it->id);
      if (it->created >= from && !claimed.contains(id)) {
        return id;
      }
    }
    return std::nullopt;
  };
}

void settle_unfinished_run(RunInfo& run, TimePoint now, const StoredSince& stored_since) {
  run.finished = now;
  if (run.state == RunState::Queued) {
    run.state = RunState::Cancelled;
    run.error = "stasisd stopped before the run started";
    return;
  }
  run.state = RunState::Interrupted;
  if (run.kind == RunKind::Restore) {
    run.error = fmt::format(
        "stasisd stopped during the restore, {}; the restore's pidfile and hooks may "
        "not have been done",
        restored_tree_fate(run));
    return;
  }
  const auto stored =
      stored_since && run.started ? stored_since(run.job, *run.started) : std::nullopt;
  if (stored) {
    run.checkpoint = *stored;
    run.error = fmt::format("stasisd stopped during the checkpoint run after it stored "
                            "checkpoint {}; retention and hooks may not have run",
                            *stored);
  } else {
    run.error =
        "stasisd stopped during the checkpoint run, before it stored a "
        "checkpoint; if the target is stopped (state T), resume it with kill -CONT";
  }
}

Result<std::size_t> settle_unfinished_runs(RunHistory& history, TimePoint now,
                                           const StoredSince& stored_since) {
  return history.settle_unfinished(
      [&](RunInfo& run) { settle_unfinished_run(run, now, stored_since); });
}

} // namespace stasis::manager
