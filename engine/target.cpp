#include "engine/target.hpp"

#include "engine/read_file.hpp"
#include "util/log.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <signal.h>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace stasis::engine {

char process_state(pid_t pid) {
  auto read = read_file(fmt::format("/proc/{}/stat", pid), 4096);
  if (!read) {
    return '\0';
  }
  const std::string& stat = *read;
  // The command name may hold spaces and parentheses: the state follows the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) {
    return '\0';
  }
  return stat[close + 2];
}

bool process_exists(pid_t pid) {
  const char state = process_state(pid);
  return state != '\0' && state != 'Z' && state != 'X';
}

std::string ensure_running(pid_t pid) {
  // A tracee is released when its tracer dies; give the kernel a moment.
  for (int i = 0; i < 20; ++i) {
    const char state = process_state(pid);
    if (state != 't') {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const char state = process_state(pid);
  if (state == '\0' || state == 'Z' || state == 'X') {
    stasis::log::get("engine")->error(
        "dump target {} is gone after its worker was killed", pid);
    return fmt::format("pid {} is gone", pid);
  }
  if (state == 'T' || state == 't') {
    ::kill(pid, SIGCONT);
    stasis::log::get("engine")->warn("dump target {} was left stopped; sent SIGCONT",
                                     pid);
    return fmt::format("pid {} was left stopped and has been resumed", pid);
  }
  return fmt::format("pid {} is still running", pid);
}

std::vector<pid_t> descendants_of(pid_t pid) {
  // /proc/PID/task/TID/children needs CONFIG_PROC_CHILDREN: scan every stat.
  std::multimap<pid_t, pid_t> children_of;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    auto stat = read_file(entry.path() / "stat", 4096);
    const auto close = stat ? stat->rfind(')') : std::string::npos;
    if (close == std::string::npos || close + 4 >= stat->size()) {
      continue;
    }
    // After ") " come the state letter and the parent pid.
    const auto parent =
        static_cast<pid_t>(std::strtol(stat->c_str() + close + 4, nullptr, 10));
    children_of.emplace(parent, static_cast<pid_t>(std::stol(name)));
  }
  std::vector<pid_t> found;
  std::vector<pid_t> pending{pid};
  while (!pending.empty()) {
    const pid_t parent = pending.back();
    pending.pop_back();
    auto [first, last] = children_of.equal_range(parent);
    for (auto it = first; it != last; ++it) {
      found.push_back(it->second);
      pending.push_back(it->second);
    }
  }
  return found;
}

} // namespace stasis::engine
