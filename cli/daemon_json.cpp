// JSON and one-line forms of the daemon's values for the daemon commands.
#include "cli/daemon_client.hpp"

#include <type_traits>

#include <fmt/format.h>

namespace stasis::cli {

using nlohmann::json;

json to_json(const manager::JobInfo& job) {
  return json{{"name", job.name},
              {"description", job.description},
              {"target", job.target},
              {"schedule", job.schedule},
              {"enabled", job.enabled},
              {"next_run", json_time(job.next_run)},
              {"last_run", json_time(job.last_run)},
              {"last_result", json_id(job.last_result)},
              {"checkpoints", job.checkpoints},
              {"policy_file", job.policy_file},
              {"fingerprint", job.fingerprint},
              {"last_push", json_time(job.last_push)},
              {"last_push_result", json_id(job.last_push_result)},
              {"last_push_remote", json_id(job.last_push_remote)}};
}

json to_json(const manager::RunInfo& run) {
  return json{{"id", run.id},
              {"job", run.job},
              {"kind", manager::to_string(run.kind)},
              {"state", manager::to_string(run.state)},
              {"checkpoint", json_id(run.checkpoint)},
              {"pid", run.pid == 0 ? json(nullptr) : json(run.pid)},
              {"error", json_id(run.error)},
              {"frozen_usec", run.frozen_usec},
              {"logical_bytes", run.logical_bytes},
              {"stored_bytes", run.stored_bytes},
              {"remote", json_id(run.remote)},
              {"started", json_time(run.started)},
              {"finished", json_time(run.finished)}};
}

json to_json(const manager::Event& event) {
  return std::visit(
      [](const auto& e) -> json {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, manager::RunStartedEvent>) {
          return {{"signal", "RunStarted"},
                  {"run", e.run},
                  {"job", e.job},
                  {"kind", manager::to_string(e.kind)}};
        } else if constexpr (std::is_same_v<E, manager::RunProgressEvent>) {
          return {{"signal", "RunProgress"},
                  {"run", e.run},
                  {"phase", e.phase},
                  {"done", e.done},
                  {"total", e.total}};
        } else if constexpr (std::is_same_v<E, manager::RunFinishedEvent>) {
          return {{"signal", "RunFinished"},
                  {"run", e.run},
                  {"job", e.job},
                  {"kind", manager::to_string(e.kind)},
                  {"result", manager::to_string(e.result)},
                  {"checkpoint", json_id(e.checkpoint)},
                  {"error", json_id(e.error)}};
        } else if constexpr (std::is_same_v<E, manager::CheckpointsChangedEvent>) {
          return {{"signal", "CheckpointsChanged"}, {"job", e.job}};
        } else {
          return {{"signal", "JobsChanged"}};
        }
      },
      event);
}

std::string describe(const manager::Event& event) {
  return std::visit(
      [](const auto& e) -> std::string {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, manager::RunStartedEvent>) {
          return fmt::format("run {} started: {} of job {}", e.run,
                             manager::to_string(e.kind), e.job);
        } else if constexpr (std::is_same_v<E, manager::RunProgressEvent>) {
          return fmt::format("run {} progress: {} {}/{}", e.run, e.phase, e.done,
                             e.total);
        } else if constexpr (std::is_same_v<E, manager::RunFinishedEvent>) {
          std::string line = fmt::format("run {} finished: {} of job {} {}", e.run,
                                         manager::to_string(e.kind), e.job,
                                         manager::to_string(e.result));
          if (!e.checkpoint.empty()) {
            line += fmt::format(", checkpoint {}", e.checkpoint);
          }
          if (!e.error.empty()) {
            line += fmt::format(": {}", e.error);
          }
          return line;
        } else if constexpr (std::is_same_v<E, manager::CheckpointsChangedEvent>) {
          return fmt::format("checkpoints of job {} changed", e.job);
        } else {
          return "jobs changed";
        }
      },
      event);
}

} // namespace stasis::cli
