// Runs a program (stasisctl, stasisd) for the dbus tier and captures it.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace stasis::test {

// What a finished program left behind.
struct CommandResult {
  int exit_code = -1; // -1: killed after the timeout or by a signal
  std::string out;
  std::string err;
};

// Runs argv (argv[0] is a path), with `env` ("NAME=value") added to the
// environment, and waits at most `timeout`; kills it (by pid) after that.
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::vector<std::string>& env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Starts argv in the background with stdout/stderr to `log`; returns its pid.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log);

// Sends `signal` to pid and reaps it within `timeout`; returns its exit code
// (-1 when it had to be killed with SIGKILL or died of a signal).
int stop_process(pid_t pid, int signal, std::chrono::milliseconds timeout);

} // namespace stasis::test
