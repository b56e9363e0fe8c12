#include "policy/model.hpp"

#include "policy/keys.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace stasis::policy {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return !name.empty() && std::find(names.begin(), names.end(), name) != names.end();
}

} // namespace

std::string_view target_kind(const Target& target) {
  static constexpr std::string_view kinds[] = {
      "pid", "pidfile", "process", "cgroup", "systemd-unit", "runc", "lxc", "podman"};
  return kinds[target.index()];
}

std::string describe(const Target& target) {
  return std::visit(
      Overloaded{
          [](const PidTarget& t) { return fmt::format("pid {}", t.pid); },
          [](const PidFileTarget& t) { return fmt::format("pid from {}", t.path); },
          [](const ProcessTarget& t) {
            std::vector<std::string> parts;
            if (!t.exe.empty()) {
              parts.push_back(fmt::format("exe ~ /{}/", t.exe));
            }
            if (!t.cmdline.empty()) {
              parts.push_back(fmt::format("cmdline ~ /{}/", t.cmdline));
            }
            if (!t.user.empty()) {
              parts.push_back(fmt::format("user {}", t.user));
            }
            return fmt::format("process with {}", fmt::join(parts, ", "));
          },
          [](const CgroupTarget& t) { return fmt::format("cgroup {}", t.path); },
          [](const SystemdUnitTarget& t) {
            return fmt::format("systemd unit {}", t.unit);
          },
          [](const RuncTarget& t) {
            return t.root.empty()
                       ? fmt::format("runc container {}", t.id)
                       : fmt::format("runc container {} (root {})", t.id, t.root);
          },
          [](const LxcTarget& t) {
            return t.lxcpath.empty()
                       ? fmt::format("lxc container {}", t.name)
                       : fmt::format("lxc container {} (lxcpath {})", t.name, t.lxcpath);
          },
          [](const PodmanTarget& t) {
            return fmt::format("podman container {}", t.container);
          },
      },
      target);
}

bool is_container(const Target& target) {
  return std::holds_alternative<RuncTarget>(target) ||
         std::holds_alternative<LxcTarget>(target) ||
         std::holds_alternative<PodmanTarget>(target);
}

std::string_view to_string(HookPoint point) {
  return hook_point_names().at(static_cast<std::size_t>(point));
}

std::optional<HookPoint> hook_point_from_string(std::string_view name) {
  const auto& names = hook_point_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) {
      return static_cast<HookPoint>(i);
    }
  }
  return std::nullopt;
}

const std::vector<HookCommand>& Hooks::at(HookPoint point) const {
  static const std::vector<HookCommand> none;
  auto it = commands.find(point);
  return it == commands.end() ? none : it->second;
}

bool Access::permits(Action action, std::string_view user, std::string_view uid,
                     const std::vector<std::string>& groups) const {
  if (uid == "0") {
    return true;
  }
  auto allowed = [&](const Principals& who) {
    if (contains(who.users, user) || contains(who.users, uid)) {
      return true;
    }
    return std::any_of(groups.begin(), groups.end(), [&](const std::string& group) {
      return contains(who.groups, group);
    });
  };
  switch (action) {
  case Action::List:
    return allowed(list) || allowed(checkpoint) || allowed(restore) || allowed(remove) ||
           allowed(exporting);
  case Action::Checkpoint:
    return allowed(checkpoint);
  case Action::Restore:
    return allowed(restore);
  case Action::Delete:
    return allowed(remove);
  case Action::Export:
    return allowed(exporting);
  }
  return false;
}

PolicySet::PolicySet(std::vector<Job> jobs, std::vector<std::string> files)
    : m_jobs(std::move(jobs)), m_files(std::move(files)) {
  std::sort(m_jobs.begin(), m_jobs.end(),
            [](const Job& a, const Job& b) { return a.name < b.name; });
}

const Job* PolicySet::find(std::string_view name) const {
  auto it =
      std::lower_bound(m_jobs.begin(), m_jobs.end(), name,
                       [](const Job& job, std::string_view n) { return job.name < n; });
  return it != m_jobs.end() && it->name == name ? &*it : nullptr;
}

} // namespace stasis::policy
