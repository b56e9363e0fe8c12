#include "manager/container_command.hpp"

#include "util/unique_fd.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/mman.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace stasis::manager {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using util::UniqueFd;

constexpr std::size_t k_output_limit = 64 * 1024;
constexpr std::size_t k_described_lines = 6;

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& text : strings) {
    pointers.push_back(text.data());
  }
  pointers.push_back(nullptr);
  return pointers;
}

std::vector<std::string> environment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> result;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    auto name = text.substr(0, text.find('='));
    if (extra.count(std::string(name)) == 0) {
      result.emplace_back(text);
    }
  }
  for (const auto& [name, value] : extra) {
    result.push_back(name + "=" + value);
  }
  return result;
}

Result<std::string> find_in(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) != 0) {
      return make_error("{} is not an executable program", name);
    }
    return name;
  }
  std::stringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return make_error("{} is not installed (not found in PATH {})", name, path);
}

std::string read_all(int fd) {
  std::string text;
  const off_t size = ::lseek(fd, 0, SEEK_END);
  const off_t start = size > static_cast<off_t>(k_output_limit)
                          ? size - static_cast<off_t>(k_output_limit)
                          : 0;
  ::lseek(fd, start, SEEK_SET);
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      break;
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

// The last lines of output, joined with "; ".
std::string last_lines(const std::string& output) {
  std::vector<std::string> lines;
  std::stringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      lines.push_back(line);
    }
  }
  std::string text;
  const std::size_t first =
      lines.size() > k_described_lines ? lines.size() - k_described_lines : 0;
  for (std::size_t i = first; i < lines.size(); ++i) {
    text += (i == first ? "" : "; ") + lines[i];
  }
  return text;
}

} // namespace

std::string ContainerCommandResult::describe() const {
  std::string how;
  if (timed_out) {
    how = "timed out and was killed";
  } else if (cancelled) {
    how = "was cancelled";
  } else if (exit_code < 0) {
    how = "was killed by a signal";
  } else {
    how = fmt::format("exited with status {}", exit_code);
  }
  const std::string said = last_lines(output);
  return said.empty() ? how : fmt::format("{}: {}", how, said);
}

Result<std::string> find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  return find_in(name, path != nullptr ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
}

Result<ContainerCommandResult> run_container_command(const ContainerCommand& command) {
  if (command.argv.empty()) {
    return make_error("empty command line");
  }
  auto env_strings = environment(command.env);
  std::string path = "/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& entry : env_strings) {
    if (entry.rfind("PATH=", 0) == 0) {
      path = entry.substr(5);
    }
  }
  auto program = STASIS_TRY(find_in(command.argv.front(), path));
  auto argv_strings = command.argv;
  auto argv = c_strings(argv_strings);
  auto envp = c_strings(env_strings);

  UniqueFd output(::memfd_create("stasis-container-command", MFD_CLOEXEC));
  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!output || !null_fd) {
    return make_error("cannot set up the output of {}: {}", command.argv.front(),
                      std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    return make_error("fork failed: {}", std::strerror(errno));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(null_fd.get(), STDIN_FILENO);
    const int out = command.discard_output ? null_fd.get() : output.get();
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(program.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);

  ContainerCommandResult result;
  const auto deadline = Clock::now() + command.timeout;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      break;
    }
    if (done < 0 && errno != EINTR) {
      return make_error("waiting for {} failed: {}", command.argv.front(),
                        std::strerror(errno));
    }
    result.timed_out = Clock::now() >= deadline;
    result.cancelled = command.stop.stop_requested();
    if (result.timed_out || result.cancelled) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (result.timed_out || result.cancelled) {
    result.exit_code = -1;
  }
  result.output = read_all(output.get());
  if (result.exit_code == 127 && result.output.empty()) {
    result.output = fmt::format("could not execute {}", program);
  }
  return result;
}

} // namespace stasis::manager
