#include "engine/lazy_pages.hpp"

#include "util/log.hpp"
#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

namespace stasis::engine {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

EngineError failure(ErrorKind kind, std::string reason, const fs::path& log) {
  EngineError error(kind, "the CRIU lazy-pages daemon failed", std::move(reason));
  error.log_file = log;
  error.log_errors = read_log_errors(log);
  return error;
}

std::string describe(int status) {
  if (WIFEXITED(status)) {
    return fmt::format("exited with status {}", WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by signal {}", WTERMSIG(status));
  }
  return "stopped";
}

} // namespace

Result<LazyPagesDaemon, EngineError> LazyPagesDaemon::start(const fs::path& criu,
                                                            const LazyPagesOptions& o) {
  const fs::path log = o.work_dir / o.log_file;
  if (o.images_dir.empty() || o.work_dir.empty()) {
    return Unexpected(EngineError(ErrorKind::InvalidOptions,
                                  "cannot start the CRIU lazy-pages daemon",
                                  "images_dir and work_dir must be set"));
  }
  if (o.page_server_fd < 0 && (o.address.empty() || o.port == 0)) {
    return Unexpected(
        EngineError(ErrorKind::InvalidOptions, "cannot start the CRIU lazy-pages daemon",
                    "it needs a page server: a socket or an address and port"));
  }
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    return Unexpected(
        failure(ErrorKind::System,
                fmt::format("cannot create a pipe: {}", std::strerror(errno)), log));
  }
  util::UniqueFd ready_read(status_pipe[0]);
  util::UniqueFd ready_write(status_pipe[1]);
  // With a setup, the directories go by descriptor (see the header).
  util::UniqueFd images_fd;
  util::UniqueFd work_fd;
  std::string images_arg = o.images_dir.string();
  std::string work_arg = o.work_dir.string();
  if (o.setup) {
    images_fd.reset(::open(o.images_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    work_fd.reset(::open(o.work_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!images_fd || !work_fd) {
      return Unexpected(failure(
          ErrorKind::System,
          fmt::format("cannot open its directories: {}", std::strerror(errno)), log));
    }
    images_arg = fmt::format("/proc/self/fd/{}", images_fd.get());
    work_arg = fmt::format("/proc/self/fd/{}", work_fd.get());
  }
  std::vector<std::string> args = {criu.string(),   "lazy-pages",
                                   "--page-server", "-D",
                                   images_arg,      "-W",
                                   work_arg,        "-o",
                                   o.log_file,      fmt::format("-v{}", o.log_level),
                                   "--status-fd",   std::to_string(ready_write.get())};
  if (o.page_server_fd >= 0) {
    args.insert(args.end(), {"--ps-socket", std::to_string(o.page_server_fd)});
  } else {
    args.insert(args.end(), {"--address", o.address, "--port", std::to_string(o.port)});
  }
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  util::UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  const pid_t pid = ::fork();
  if (pid < 0) {
    return Unexpected(failure(ErrorKind::System,
                              fmt::format("cannot fork: {}", std::strerror(errno)), log));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::fcntl(ready_write.get(), F_SETFD, 0);
    if (o.page_server_fd >= 0) {
      ::fcntl(o.page_server_fd, F_SETFD, 0);
    }
    if (devnull) {
      ::dup2(devnull.get(), STDIN_FILENO);
      ::dup2(devnull.get(), STDOUT_FILENO);
      ::dup2(devnull.get(), STDERR_FILENO);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (o.setup) {
      ::fcntl(images_fd.get(), F_SETFD, 0);
      ::fcntl(work_fd.get(), F_SETFD, 0);
      if (o.setup() != 0) {
        ::_exit(126);
      }
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ready_write.reset();
  LazyPagesDaemon daemon(pid, log);
  pollfd p{ready_read.get(), POLLIN, 0};
  int ready = 0;
  do {
    ready = ::poll(&p, 1, static_cast<int>(o.ready_timeout.count()));
  } while (ready < 0 && errno == EINTR);
  char byte = 1;
  const ssize_t got = ready > 0 ? ::read(ready_read.get(), &byte, 1) : -1;
  if (got != 1 || byte != 0) {
    // The pipe closed (got 0) or said no: the daemon is exiting, wait for it.
    auto exit = daemon.reap(got >= 0);
    daemon.kill();
    return Unexpected(failure(
        exit ? ErrorKind::WorkerDied : ErrorKind::TimedOut,
        exit ? fmt::format("it {} before it was ready", describe(*exit))
             : fmt::format("it was not ready after {} ms", o.ready_timeout.count()),
        log));
  }
  stasis::log::get("engine")->debug("CRIU lazy-pages daemon ready (pid {})", pid);
  return daemon;
}

LazyPagesDaemon::LazyPagesDaemon(LazyPagesDaemon&& other) noexcept
    : m_pid(std::exchange(other.m_pid, -1)), m_log(std::move(other.m_log)),
      m_status(other.m_status) {}

LazyPagesDaemon& LazyPagesDaemon::operator=(LazyPagesDaemon&& other) noexcept {
  if (this != &other) {
    kill();
    m_pid = std::exchange(other.m_pid, -1);
    m_log = std::move(other.m_log);
    m_status = other.m_status;
  }
  return *this;
}

LazyPagesDaemon::~LazyPagesDaemon() {
  kill();
}

std::optional<int> LazyPagesDaemon::reap(bool block) {
  if (m_pid <= 0) {
    return std::nullopt;
  }
  int status = 0;
  pid_t got;
  do {
    got = ::waitpid(m_pid, &status, block ? 0 : WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got == m_pid || got < 0) {
    m_pid = -1;
    m_status = got < 0 ? 0 : status;
    return m_status;
  }
  return std::nullopt;
}

bool LazyPagesDaemon::running() {
  if (m_pid <= 0) {
    return false;
  }
  return !reap(false);
}

Result<void, EngineError> LazyPagesDaemon::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto status = m_pid > 0 ? reap(false) : m_status) {
      if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
        return Unexpected(
            failure(ErrorKind::Criu, fmt::format("it {}", describe(*status)), m_log));
      }
      return {};
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Unexpected(
          failure(ErrorKind::TimedOut,
                  fmt::format("it still runs after {} ms (pages not all transferred)",
                              timeout.count()),
                  m_log));
    }
    std::this_thread::sleep_for(5ms);
  }
}

void LazyPagesDaemon::kill() {
  if (m_pid <= 0) {
    return;
  }
  ::kill(-m_pid, SIGKILL);
  ::kill(m_pid, SIGKILL);
  reap(true);
}

} // namespace stasis::engine
