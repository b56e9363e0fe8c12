#include "manager/hook_mapping.hpp"

#include "util/log.hpp"

namespace stasis::manager {
namespace {

HookSpec to_spec(const policy::HookCommand& command) {
  HookSpec spec;
  spec.argv = command.argv;
  spec.timeout = command.timeout;
  if (!command.user.empty()) {
    spec.user = command.user;
  }
  if (!command.group.empty()) {
    spec.group = command.group;
  }
  spec.env = command.env;
  return spec;
}

} // namespace

std::optional<policy::HookPoint> hook_point_of(std::string_view notify_script) {
  auto point = policy::hook_point_from_string(notify_script);
  if (!point || *point == policy::HookPoint::OnSuccess ||
      *point == policy::HookPoint::OnFailure) {
    return std::nullopt;
  }
  return point;
}

std::optional<std::string> run_policy_hooks(const policy::Hooks& hooks,
                                            policy::HookPoint point, HookEvent event,
                                            const std::string& run_id) {
  auto logger = log::get("manager");
  event.action = std::string(policy::to_string(point));
  for (const auto& command : hooks.at(point)) {
    const std::string name = command.argv.empty() ? "?" : command.argv.front();
    logger->info("run {}: {} hook {} ({}:{})", run_id, event.action, name,
                 command.source.file, command.source.line);
    auto outcome = run_hook(to_spec(command), event, [&](std::string_view line) {
      logger->info("run {}: {} hook {}: {}", run_id, event.action, name, line);
    });
    std::string failure;
    if (!outcome) {
      failure = outcome.error().message;
    } else if (!outcome->succeeded()) {
      failure = fmt::format("{} {}", name, outcome->describe());
    } else {
      continue;
    }
    if (command.ignore_failure) {
      logger->warn("run {}: {} hook failed (ignored): {}", run_id, event.action, failure);
      continue;
    }
    logger->error("run {}: {} hook failed: {}", run_id, event.action, failure);
    return fmt::format("{} hook failed: {}", event.action, failure);
  }
  return std::nullopt;
}

engine::NotifyHandler hooks_notify_handler(const policy::Hooks& hooks, HookEvent event,
                                           std::string run_id) {
  return [hooks, event, run_id](const engine::NotifyEvent& notify) {
    auto point = hook_point_of(notify.script);
    if (!point) {
      return engine::NotifyAnswer::ok();
    }
    HookEvent current = event;
    if (notify.pid > 0) {
      current.pid = notify.pid;
    }
    if (auto failure = run_policy_hooks(hooks, *point, current, run_id)) {
      return engine::NotifyAnswer::fail(*failure);
    }
    return engine::NotifyAnswer::ok();
  };
}

} // namespace stasis::manager
