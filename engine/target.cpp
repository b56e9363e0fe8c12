#include "engine/target.hpp"

#include "engine/read_file.hpp"
#include "util/log.hpp"

#include <signal.h>

#include <chrono>
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
    stasis::log::get("engine")->error("dump target {} is gone after its worker was killed",
                                      pid);
    return fmt::format("pid {} is gone", pid);
  }
  if (state == 'T' || state == 't') {
    ::kill(pid, SIGCONT);
    stasis::log::get("engine")->warn("dump target {} was left stopped; sent SIGCONT", pid);
    return fmt::format("pid {} was left stopped and has been resumed", pid);
  }
  return fmt::format("pid {} is still running", pid);
}

} // namespace stasis::engine
