// The JSON form of run records: one line of the run history per record.
#include "manager/run_history.hpp"

#include <nlohmann/json.hpp>

namespace stasis::manager {
namespace {

using json = nlohmann::json;

std::optional<RunState> parse_state(const std::string& text) {
  for (auto state :
       {RunState::Queued, RunState::Running, RunState::Succeeded, RunState::Failed,
        RunState::Cancelled, RunState::Skipped, RunState::Interrupted}) {
    if (to_string(state) == text) {
      return state;
    }
  }
  return std::nullopt;
}

std::int64_t to_usec(TimePoint time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch())
      .count();
}

TimePoint from_usec(std::int64_t usec) {
  return TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(usec)));
}

} // namespace

std::string run_to_json_line(const RunInfo& run) {
  json j = {{"id", run.id},
            {"job", run.job},
            {"kind", to_string(run.kind)},
            {"state", to_string(run.state)},
            {"checkpoint", run.checkpoint},
            {"pid", run.pid},
            {"error", run.error},
            {"frozen_usec", run.frozen_usec},
            {"logical_bytes", run.logical_bytes},
            {"stored_bytes", run.stored_bytes}};
  if (!run.pid_identity.empty()) {
    j["pid_identity"] = run.pid_identity;
  }
  if (!run.remote.empty()) {
    j["remote"] = run.remote;
  }
  if (run.started) {
    j["started_usec"] = to_usec(*run.started);
  }
  if (run.finished) {
    j["finished_usec"] = to_usec(*run.finished);
  }
  return j.dump();
}

std::optional<RunInfo> run_from_json_line(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return std::nullopt;
  }
  try {
    RunInfo run;
    run.id = j.at("id").get<std::string>();
    run.job = j.at("job").get<std::string>();
    const auto kind = j.at("kind").get<std::string>();
    run.kind = kind == "restore"  ? RunKind::Restore
               : kind == "push"   ? RunKind::Push
               : kind == "pull"   ? RunKind::Pull
               : kind == "export" ? RunKind::Export
               : kind == "import" ? RunKind::Import
                                  : RunKind::Checkpoint;
    auto state = parse_state(j.at("state").get<std::string>());
    if (!state || run.id.empty()) {
      return std::nullopt;
    }
    run.state = *state;
    run.checkpoint = j.value("checkpoint", "");
    run.pid = j.value("pid", 0);
    run.pid_identity = j.value("pid_identity", "");
    run.error = j.value("error", "");
    run.frozen_usec = j.value("frozen_usec", std::uint64_t{0});
    run.logical_bytes = j.value("logical_bytes", std::uint64_t{0});
    run.stored_bytes = j.value("stored_bytes", std::uint64_t{0});
    run.remote = j.value("remote", "");
    if (j.contains("started_usec")) {
      run.started = from_usec(j["started_usec"].get<std::int64_t>());
    }
    if (j.contains("finished_usec")) {
      run.finished = from_usec(j["finished_usec"].get<std::int64_t>());
    }
    return run;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

} // namespace stasis::manager
