// Running a job's policy hooks: at CRIU's notification points (through the
// engine's NotifyHandler) and after a run (on-success, on-failure).
#pragma once

#include "engine/notify.hpp"
#include "manager/hook_runner.hpp"
#include "policy/model.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace stasis::manager {

// The hook point of a CRIU notification ("pre-dump", ...), if it has one.
std::optional<policy::HookPoint> hook_point_of(std::string_view notify_script);

// Runs the commands of one hook point in order, their output going to the
// "manager" log under the run id. Returns why the point failed (a command
// that could not start or failed without ignore_failure), or nothing.
// event.action is set to the point's name.
std::optional<std::string> run_policy_hooks(const policy::Hooks& hooks,
                                            policy::HookPoint point, HookEvent event,
                                            const std::string& run_id);

// A notify handler that runs the hooks of each CRIU action and answers failure
// (CRIU aborts) when one fails. event carries job, checkpoint, pid and images
// dir; the pid CRIU attaches to an event replaces it.
engine::NotifyHandler hooks_notify_handler(const policy::Hooks& hooks, HookEvent event,
                                           std::string run_id);

} // namespace stasis::manager
