// Runs a container runtime's command line (runc, lxc-checkpoint, podman, tar)
// for the container runs: an argv without a shell, as root with the daemon's
// privileges, stdin from /dev/null and stdout+stderr into an anonymous file
// (not a pipe: a detached container may inherit them and never close them),
// in its own process group that is killed on timeout or cancellation.
#pragma once

#include "util/result.hpp"

#include <chrono>
#include <map>
#include <stop_token>
#include <string>
#include <vector>

namespace stasis::manager {

// One command to run. argv[0] is an absolute path or a name searched in PATH
// (the effective PATH: env's, else the daemon's).
struct ContainerCommand {
  std::vector<std::string> argv;
  // Variables set (or replaced) in the daemon's environment.
  std::map<std::string, std::string> env;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  std::stop_token stop;
  // Sends stdout and stderr to /dev/null instead (for commands whose children
  // keep them, like `runc run -d`).
  bool discard_output = false;
};

// How a command ended.
struct ContainerCommandResult {
  int exit_code = -1; // -1: killed by a signal (see timed_out/cancelled)
  bool timed_out = false;
  bool cancelled = false;
  std::string output; // the last 64 KiB of stdout and stderr

  bool succeeded() const { return exit_code == 0; }
  // "exited with status 1: <last output lines>", "timed out after 40 s", ...
  std::string describe() const;
};

// Runs the command and waits for it. An error means it could not be started.
Result<ContainerCommandResult> run_container_command(const ContainerCommand& command);

// Finds an executable by name in PATH (or checks an absolute path).
Result<std::string> find_program(const std::string& name);

} // namespace stasis::manager
