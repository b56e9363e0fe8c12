#include "manager/target_resolver.hpp"

#include "manager/authorization.hpp"
#include "manager/container_runtime.hpp"
#include "manager/identity.hpp"
#include "manager/target_candidates.hpp"
#include "policy/pattern.hpp"
#include "util/path_walk.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <unistd.h>

#include <fmt/ranges.h>

namespace stasis::manager {
namespace {

constexpr std::size_t k_listed_candidates = 10;

// The largest pidfile read: a pid, or PostgreSQL's few lines.
constexpr std::size_t k_max_pidfile_size = 4096;

template <typename... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

Result<pid_t> existing(pid_t pid, const ProcessTable& table, const std::string& source) {
  if (pid <= 0) {
    return make_error("{}: {} is not a process id", source, pid);
  }
  auto entry = table.process(pid);
  if (!entry) {
    return make_error("{}: no process {}", source, pid);
  }
  if (entry->kernel_thread) {
    return make_error("{}: process {} is a kernel thread", source, pid);
  }
  return pid;
}

std::string list_candidates(const std::vector<ProcessEntry>& candidates) {
  std::string text;
  for (std::size_t i = 0; i < candidates.size() && i < k_listed_candidates; ++i) {
    const auto& entry = candidates[i];
    std::string command = entry.cmdline.empty() ? entry.exe : entry.cmdline;
    if (command.size() > 80) {
      command = command.substr(0, 77) + "...";
    }
    text += fmt::format("{}pid {} ({})", i == 0 ? "" : ", ", entry.pid, command);
  }
  if (candidates.size() > k_listed_candidates) {
    text += fmt::format(" and {} more", candidates.size() - k_listed_candidates);
  }
  return text;
}

// The matches none of whose ancestors is also a match.
std::vector<ProcessEntry> tree_roots(const std::vector<ProcessEntry>& matches,
                                     const std::map<pid_t, pid_t>& parent_of) {
  std::set<pid_t> matched;
  for (const auto& entry : matches) {
    matched.insert(entry.pid);
  }
  std::vector<ProcessEntry> roots;
  for (const auto& entry : matches) {
    bool has_matching_ancestor = false;
    pid_t current = entry.ppid;
    for (int depth = 0; depth < 4096 && current > 0 && !has_matching_ancestor; ++depth) {
      has_matching_ancestor = matched.count(current) != 0;
      auto parent = parent_of.find(current);
      current = parent == parent_of.end() ? 0 : parent->second;
    }
    if (!has_matching_ancestor) {
      roots.push_back(entry);
    }
  }
  return roots;
}

// The pid on the first line of a pidfile's text (PostgreSQL's postmaster.pid
// has more lines after it).
Result<pid_t> parse_pidfile(const std::string& text, const std::string& source) {
  const std::string_view first_line = std::string_view(text).substr(0, text.find('\n'));
  const auto first = first_line.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) {
    return make_error("{} is empty", source);
  }
  const auto last = first_line.find_last_not_of(" \t\r");
  const std::string_view word = first_line.substr(first, last - first + 1);
  pid_t pid = 0;
  auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), pid);
  if (error != std::errc() || end != word.data() + word.size()) {
    return make_error("{} does not hold a pid on its first line: '{}'", source,
                      word.substr(0, std::min<std::size_t>(word.size(), 40)));
  }
  return pid;
}

// Reads a pidfile through a walk that notes who can change it; a pidfile
// that a user other than root can change (its owner, or the owner of a
// directory or symlink on its way) may only name that user's own process,
// as systemd's PIDFile= rule; one that a group or others can change, or
// several users, names none.
Result<pid_t> resolve_pidfile(const policy::PidFileTarget& target,
                              const ProcessTable& table) {
  const std::string source = fmt::format("pidfile {}", target.path);
  PathWriters writers;
  auto opened =
      util::walk_open(target.path, util::WalkTarget::RegularFile, writers.recorder());
  if (!opened) {
    return make_error("{} cannot be read (does it exist?): {}", source,
                      opened.error().message);
  }
  auto text = util::read_bounded(opened->fd.get(), k_max_pidfile_size);
  if (!text) {
    return make_error("{} cannot be read: {}", source, text.error().message);
  }
  const pid_t pid = STASIS_TRY(parse_pidfile(*text, source));
  auto resolved = existing(pid, table, source);
  if (!resolved) {
    return make_error("{} (stale pidfile?)", resolved.error().message);
  }
  if (!writers.shared.empty()) {
    return make_error("{} can be changed by a group or by others ({} is writable by "
                      "them), so it cannot name a process: keep it where only root or "
                      "the service's user can write",
                      source, writers.shared);
  }
  if (writers.users.size() > 1) {
    std::vector<std::string> users;
    for (const auto& [uid, entry] : writers.users) {
      users.push_back(fmt::format("uid {} (owner of {})", uid, entry));
    }
    return make_error("{} can be changed by several users ({}), so it cannot name a "
                      "process: keep it where only root or the service's user can write",
                      source, fmt::join(users, ", "));
  }
  if (!writers.users.empty()) {
    const auto& [uid, entry] = *writers.users.begin();
    if (auto owned = table.check_owned_by(pid, uid); !owned) {
      return make_error("{} can be changed by uid {} (owner of {}), so it may only name "
                        "a process of that user (the rule of systemd's PIDFile=): {}",
                        source, uid, entry, owned.error().message);
    }
  }
  return resolved;
}

Result<policy::Pattern> compile(const std::string& pattern, const char* what) {
  auto compiled = policy::Pattern::compile(pattern);
  if (!compiled) {
    return make_error("invalid {} regex '{}': {}", what, pattern,
                      compiled.error().message);
  }
  return compiled;
}

// A user given by name or numeric uid.
std::optional<uid_t> user_id(const std::string& user) {
  uid_t uid = 0;
  auto [end, error] = std::from_chars(user.data(), user.data() + user.size(), uid);
  if (error == std::errc() && end == user.data() + user.size()) {
    return uid;
  }
  return find_uid(user);
}

Result<pid_t> resolve_process(const policy::ProcessTarget& target,
                              const ProcessTable& table) {
  const std::string source = policy::describe(policy::Target{target});
  auto exe = STASIS_TRY(compile(target.exe, "exe"));
  auto cmdline = STASIS_TRY(compile(target.cmdline, "cmdline"));
  std::optional<uid_t> uid;
  if (!target.user.empty()) {
    uid = user_id(target.user);
    if (!uid) {
      return make_error("{}: there is no user named '{}'", source, target.user);
    }
  }
  auto all = table.processes();
  std::map<pid_t, pid_t> parent_of;
  std::vector<ProcessEntry> matches;
  for (const auto& entry : all) {
    parent_of[entry.pid] = entry.ppid;
    if (entry.kernel_thread || entry.pid == getpid() || (uid && entry.uid != *uid)) {
      continue;
    }
    if ((target.exe.empty() || exe.search(entry.exe)) &&
        (target.cmdline.empty() || cmdline.search(entry.cmdline))) {
      matches.push_back(entry);
    }
  }
  auto roots = tree_roots(matches, parent_of);
  if (roots.empty()) {
    const auto near = near_candidates(target, exe, cmdline, uid, all);
    if (near.empty()) {
      return make_error("{}: no process matches", source);
    }
    return make_error("{}: no process matches; the nearest: {} (exe is the executable "
                      "a process runs, /proc/PID/exe, after every symlink)",
                      source, near);
  }
  if (roots.size() > 1) {
    return make_error("{}: {} separate process trees match, expected one: {}; narrow the "
                      "regex or add a user",
                      source, roots.size(), list_candidates(roots));
  }
  return roots.front().pid;
}

Result<pid_t> resolve_cgroup(const policy::CgroupTarget& target,
                             const ProcessTable& table) {
  const std::string source = fmt::format("cgroup {}", target.path);
  auto members = STASIS_TRY(table.cgroup_members(target.path));
  std::set<pid_t> inside(members.begin(), members.end());
  std::vector<ProcessEntry> roots;
  for (pid_t pid : inside) {
    auto entry = table.process(pid);
    if (entry && inside.count(entry->ppid) == 0) {
      roots.push_back(*entry);
    }
  }
  if (roots.empty()) {
    return make_error("{} has no processes", source);
  }
  if (roots.size() > 1) {
    return make_error("{} holds {} process trees, expected one: {}", source, roots.size(),
                      list_candidates(roots));
  }
  return roots.front().pid;
}

} // namespace

Result<pid_t> resolve_target(const policy::Target& target, const ProcessTable& table) {
  return std::visit(
      Overloaded{
          [&](const policy::PidTarget& t) {
            return existing(t.pid, table, policy::describe(target));
          },
          [&](const policy::PidFileTarget& t) { return resolve_pidfile(t, table); },
          [&](const policy::ProcessTarget& t) { return resolve_process(t, table); },
          [&](const policy::CgroupTarget& t) { return resolve_cgroup(t, table); },
          [&](const policy::SystemdUnitTarget& t) -> Result<pid_t> {
            auto pid = STASIS_TRY(table.systemd_main_pid(t.unit));
            return existing(pid, table, policy::describe(target));
          },
          [&](const auto&) -> Result<pid_t> { return container_init_pid(target); },
      },
      target);
}

} // namespace stasis::manager
