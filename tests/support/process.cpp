#include "tests/support/process.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <linux/sched.h>
#include <signal.h>
#include <sstream>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace stasis::test {
namespace {

constexpr auto k_poll = std::chrono::milliseconds(5);

template <typename Done>
bool poll_until(std::chrono::milliseconds timeout, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(k_poll);
  }
}

} // namespace

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  if (pid <= 0) {
    return std::nullopt;
  }
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!file || !std::getline(file, text)) {
    return std::nullopt;
  }
  // The command name may contain spaces and parentheses: parse after the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream rest(text.substr(close + 1));
  ProcStat stat;
  if (!(rest >> stat.state >> stat.ppid >> stat.pgrp >> stat.session)) {
    return std::nullopt;
  }
  return stat;
}

bool wait_pid_gone(pid_t pid, std::chrono::milliseconds timeout) {
  return poll_until(timeout, [&] {
    const auto stat = read_proc_stat(pid);
    if (!stat) {
      return true;
    }
    const bool zombie = stat->state == 'Z' || stat->state == 'X';
    return zombie && stat->ppid != ::getpid();
  });
}

bool wait_pid_free(pid_t pid, std::chrono::milliseconds timeout) {
  return poll_until(timeout, [&] { return !read_proc_stat(pid).has_value(); });
}

std::vector<pid_t> processes_with_marker(std::string_view marker) {
  std::vector<pid_t> pids;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream in(entry.path() / "cmdline");
    const std::string cmdline((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    if (cmdline.find(marker) != std::string::npos) {
      pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return pids;
}

KillMarkedOnExit::~KillMarkedOnExit() {
  for (const pid_t pid : processes_with_marker(marker)) {
    ::kill(pid, SIGKILL);
  }
}

std::map<std::string, std::string> parse_key_values(std::string_view text) {
  std::map<std::string, std::string> values;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto line = text.substr(0, nl);
    if (const auto eq = line.find('='); eq != std::string_view::npos) {
      values[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return values;
}

std::map<std::string, std::string> read_key_values(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return parse_key_values(text.str());
}

std::filesystem::path criu_binary() {
  if (const char* env = std::getenv("STASIS_CRIU"); env != nullptr && *env != '\0') {
    return env;
  }
  return std::filesystem::path(STASIS_TEST_CRIU_PREFIX) / "bin" / "criu";
}

CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout) {
  CommandResult result;
  if (argv.empty()) {
    result.error = "run_command: empty argv";
    return result;
  }
  std::vector<char*> args;
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    result.error = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::close_range(3, ~0U, 0);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  pid_t waited = 0;
  const bool done = poll_until(timeout, [&] {
    waited = ::waitpid(pid, &status, WNOHANG);
    return waited != 0;
  });
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    result.error =
        argv[0] + " timed out after " + std::to_string(timeout.count()) + " ms";
    return result;
  }
  if (waited < 0) {
    result.error = std::string("waitpid: ") + std::strerror(errno);
    return result;
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    if (result.exit_code == 127) {
      result.error = "cannot execute " + argv[0];
    }
  } else if (WIFSIGNALED(status)) {
    result.exit_code = 128 + WTERMSIG(status);
  }
  return result;
}

} // namespace stasis::test

namespace stasis::test {

pid_t spawn_at_pid(pid_t pid, const std::vector<std::string>& argv) {
  std::vector<std::string> args = argv;
  std::vector<char*> pointers;
  for (auto& arg : args) {
    pointers.push_back(arg.data());
  }
  pointers.push_back(nullptr);
  pid_t wanted = pid;
  clone_args cl{};
  cl.exit_signal = SIGCHLD;
  cl.set_tid = reinterpret_cast<std::uint64_t>(&wanted);
  cl.set_tid_size = 1;
  const long got = ::syscall(SYS_clone3, &cl, sizeof cl);
  if (got == 0) {
    ::setsid();
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    ::close_range(3, ~0U, 0);
    ::execv(pointers[0], pointers.data());
    ::_exit(127);
  }
  return static_cast<pid_t>(got);
}

} // namespace stasis::test
