#include "manager/hook_process.hpp"

#include "manager/privileges.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>

#include <climits>
#include <fmt/format.h>

namespace stasis::manager {
namespace {

// Writes a message for the parent and ends the process.
[[noreturn]] void fail_child(int error_fd, const std::string& message, int code) {
  [[maybe_unused]] const auto written = ::write(error_fd, message.data(), message.size());
  ::_exit(code);
}

// Every signal back to its default action, none blocked.
void default_signals() {
  for (int sig = 1; sig < NSIG; ++sig) {
    ::signal(sig, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// The init's SIGTERM handler: the whole namespace gets it (kill(-1) from the
// init reaches every process of its namespace but itself).
void pass_sigterm_on(int) {
  const int saved = errno;
  ::kill(-1, SIGTERM);
  errno = saved;
}

// The hook, pid 2 of the namespace.
[[noreturn]] void exec_hook(const HookLaunch& launch) {
  ::setsid(); // no controlling terminal of the daemon's
  if (::dup2(launch.null_fd, STDIN_FILENO) < 0 ||
      ::dup2(launch.output_fd, STDOUT_FILENO) < 0 ||
      ::dup2(launch.output_fd, STDERR_FILENO) < 0) {
    fail_child(launch.error_fd,
               fmt::format("redirecting stdio failed: {}", std::strerror(errno)), 126);
  }
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  default_signals();
  if (::chdir("/") != 0) {
    fail_child(launch.error_fd, fmt::format("chdir / failed: {}", std::strerror(errno)),
               126);
  }
  ::execve(launch.path.c_str(), launch.argv, launch.envp);
  fail_child(launch.error_fd,
             fmt::format("exec {} failed: {}", launch.path, std::strerror(errno)), 127);
}

// The namespace's init, pid 1: never execs, holds nothing of the daemon's.
[[noreturn]] void run_init(const HookLaunch& launch) {
  ::prctl(PR_SET_NAME, "stasis-hook", 0, 0, 0); // not another "stasisd" in ps
  default_signals();
  struct sigaction term {};
  term.sa_handler = pass_sigterm_on;
  sigemptyset(&term.sa_mask);
  ::sigaction(SIGTERM, &term, nullptr);
  if (auto dropped = drop_to_user_without_caps(*launch.identity); !dropped) {
    fail_child(launch.error_fd, dropped.error().message, 126);
  }
  // The hook runs as the same user: it must not ptrace (or read the
  // descriptors of) the process that reports its status.
  ::prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
  const pid_t hook = ::fork();
  if (hook < 0) {
    fail_child(launch.error_fd, fmt::format("fork failed: {}", std::strerror(errno)),
               126);
  }
  if (hook == 0) {
    exec_hook(launch);
  }
  // Keep only the status pipe; stdio on /dev/null.
  for (int fd = 0; fd < 3; ++fd) {
    ::dup2(launch.null_fd, fd);
  }
  const int status_fd = launch.status_fd;
  if (status_fd > 3) {
    ::close_range(3, static_cast<unsigned>(status_fd - 1), 0);
  }
  ::close_range(static_cast<unsigned>(status_fd + 1), UINT_MAX, 0);
  for (;;) {
    int status = 0;
    const pid_t got = ::waitpid(-1, &status, 0);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      ::_exit(0);
    }
    if (got == hook) {
      [[maybe_unused]] const auto written = ::write(status_fd, &status, sizeof(status));
      ::_exit(0); // the kernel kills whatever the hook left behind
    }
  }
}

} // namespace

Result<pid_t> spawn_hook(const HookLaunch& launch) {
  pid_t pid = -1;
  int error = 0;
  const char* step = "fork";
  try {
    // unshare(CLONE_NEWPID) decides where the calling thread's later children
    // go, for good. A thread of its own does it and forks, then ends: no other
    // thread of the daemon ever forks into a hook's namespace.
    std::thread launcher([&] {
      if (::unshare(CLONE_NEWPID) != 0) {
        error = errno;
        step = "unshare(CLONE_NEWPID)";
        return;
      }
      pid = ::fork();
      if (pid == 0) {
        run_init(launch);
      }
      if (pid < 0) {
        error = errno;
      }
    });
    launcher.join();
  } catch (const std::system_error& failure) {
    return make_error("cannot start a thread to fork the hook: {}", failure.what());
  }
  if (pid < 0) {
    return make_error("cannot give the hook a PID namespace of its own: {} failed: {}",
                      step, std::strerror(error));
  }
  return pid;
}

} // namespace stasis::manager
