#include "engine/swrk_transport.hpp"

#include "engine/target.hpp"
#include "util/log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::engine {
namespace {

// How long the destructor lets a worker finish on its own after hang-up.
constexpr auto k_exit_grace = std::chrono::seconds(5);

TransportError system_error(std::string_view what) {
  return {TransportError::Kind::System,
          fmt::format("{}: {}", what, std::strerror(errno))};
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) {
    return fmt::format("exited with status {}", WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status),
                       ::strsignal(WTERMSIG(status)));
  }
  return "stopped";
}

[[noreturn]] void report_and_exit(int report_fd, int error) {
  [[maybe_unused]] auto written = ::write(report_fd, &error, sizeof(error));
  ::_exit(127);
}

// Sends fd over socket (SCM_RIGHTS with one byte); 0 or an errno value.
int send_fd(int socket, int fd) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&header);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return ::sendmsg(socket, &header, MSG_NOSIGNAL) == 1 ? 0 : errno;
}

// Receives the descriptor send_fd sent.
Result<util::UniqueFd> receive_fd(int socket) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof(control);
  ssize_t got;
  do {
    got = ::recvmsg(socket, &header, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    return make_error("receiving the CRIU worker's socket failed: {}",
                      std::strerror(errno));
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
      return util::UniqueFd(fd);
    }
  }
  return make_error("the CRIU worker sent no socket");
}

// Runs in the forked child: only async-signal-safe calls until exec.
//
// With a setup (the worker runs with other credentials than ours), the
// worker's socket is made after the setup, in the child, and its other end is
// handed to us over the first pair: CRIU takes the socket's peer as the
// client and opens the images and work dirs as /proc/PEER/fd/N, which a
// worker without CAP_DAC_READ_SEARCH may do only for its own descriptors.
// (The worker inherits those descriptors, spec.request_dir_fds, under the
// same numbers.)
[[noreturn]] void exec_worker(char* const* argv, int worker_fd, const WorkerSpec& spec,
                              int devnull, int report_fd, const ChildSetup& setup) {
  if (spec.own_process_group) {
    ::setpgid(0, 0);
  }
  ::fcntl(worker_fd, F_SETFD, 0);
  for (int fd : spec.inherited_fds) {
    ::fcntl(fd, F_SETFD, 0);
  }
  if (devnull >= 0) {
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(devnull, STDOUT_FILENO);
    ::dup2(devnull, STDERR_FILENO);
  }
  if (spec.stdin_fd >= 0) {
    ::dup2(spec.stdin_fd, STDIN_FILENO); // the copy is not close-on-exec
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  ::signal(SIGCHLD, SIG_DFL);
  if (setup) {
    if (const int failed = setup(); failed != 0) {
      report_and_exit(report_fd, failed);
    }
    for (int fd : spec.request_dir_fds) {
      ::fcntl(fd, F_SETFD, 0);
    }
    int fresh[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fresh) != 0) {
      report_and_exit(report_fd, errno);
    }
    if (const int failed = send_fd(worker_fd, fresh[0]); failed != 0) {
      report_and_exit(report_fd, failed);
    }
    // dup2 leaves the new worker_fd without FD_CLOEXEC.
    if (::dup2(fresh[1], worker_fd) < 0) {
      report_and_exit(report_fd, errno);
    }
    ::close(fresh[0]);
    ::close(fresh[1]);
  }
  ::execv(argv[0], argv);
  report_and_exit(report_fd, errno);
}

} // namespace

Result<std::unique_ptr<SwrkTransport>>
SwrkTransport::spawn(const std::filesystem::path& criu, const WorkerSpec& spec,
                     const ChildSetup& setup) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return make_error("cannot create the socket to the CRIU worker: {}",
                      std::strerror(errno));
  }
  util::UniqueFd ours(pair[0]);
  util::UniqueFd theirs(pair[1]);
  util::UniqueFd wakeup(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  int report[2];
  if (!wakeup || ::pipe2(report, O_CLOEXEC) != 0) {
    return make_error("cannot create the worker's control descriptors: {}",
                      std::strerror(errno));
  }
  util::UniqueFd report_read(report[0]);
  util::UniqueFd report_write(report[1]);
  util::UniqueFd devnull;
  if (spec.quiet) {
    devnull.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
  }

  std::string binary = criu.string();
  std::string command = "swrk";
  std::string fd_arg = std::to_string(theirs.get());
  char* argv[] = {binary.data(), command.data(), fd_arg.data(), nullptr};

  const pid_t pid = ::fork();
  if (pid < 0) {
    return make_error("cannot fork the CRIU worker: {}", std::strerror(errno));
  }
  if (pid == 0) {
    exec_worker(argv, theirs.get(), spec, devnull.get(), report_write.get(), setup);
  }
  theirs.reset();
  report_write.reset();
  int exec_errno = 0;
  ssize_t got;
  do {
    got = ::read(report_read.get(), &exec_errno, sizeof(exec_errno));
  } while (got < 0 && errno == EINTR);
  if (got == sizeof(exec_errno)) {
    ::waitpid(pid, nullptr, 0);
    return make_error("cannot run {}: {}", binary, std::strerror(exec_errno));
  }
  if (setup) {
    auto handed = receive_fd(ours.get());
    if (!handed) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return Unexpected(std::move(handed).error());
    }
    ours = std::move(*handed);
  }
  stasis::log::get("engine")->debug("started CRIU worker {} (pid {})", binary, pid);
  return std::unique_ptr<SwrkTransport>(
      new SwrkTransport(std::move(ours), std::move(wakeup), pid));
}

SwrkTransport::SwrkTransport(util::UniqueFd socket, util::UniqueFd wakeup, pid_t pid)
    : m_socket(std::move(socket)), m_wakeup(std::move(wakeup)), m_pid(pid) {}

SwrkTransport::~SwrkTransport() {
  m_socket.reset();
  if (m_pid <= 0) {
    return;
  }
  const auto give_up = std::chrono::steady_clock::now() + k_exit_grace;
  while (reap(false).empty()) {
    if (std::chrono::steady_clock::now() > give_up) {
      stasis::log::get("engine")->warn("CRIU worker {} did not exit; killing it", m_pid);
      kill_worker();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string SwrkTransport::reap(bool wait) {
  if (m_pid <= 0) {
    return m_exit;
  }
  int status = 0;
  pid_t got;
  do {
    got = ::waitpid(m_pid, &status, wait ? 0 : WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got == m_pid) {
    m_exit = describe_status(status);
    stasis::log::get("engine")->debug("CRIU worker {} {}", m_pid, m_exit);
    m_pid = 0;
  } else if (got < 0) {
    m_exit = "is gone (already reaped)";
    m_pid = 0;
  }
  return m_exit;
}

void SwrkTransport::kill_worker() {
  if (m_pid <= 0) {
    return;
  }
  // CRIU forks helpers during a dump (and the tree itself during a restore);
  // they would outlive the worker. Stop it so it forks no more, then kill all.
  const bool own_group = ::getpgid(m_pid) == m_pid;
  ::kill(own_group ? -m_pid : m_pid, SIGSTOP);
  const auto helpers = descendants_of(m_pid);
  stasis::log::get("engine")->debug("killing CRIU worker {} and its {} descendants",
                                    m_pid, helpers.size());
  ::kill(own_group ? -m_pid : m_pid, SIGKILL);
  for (pid_t helper : helpers) {
    ::kill(helper, SIGKILL);
  }
  reap(true);
}

Result<void, TransportError> SwrkTransport::send(std::string_view bytes) {
  ssize_t sent;
  do {
    sent = ::send(m_socket.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno == EPIPE || errno == ECONNRESET) {
      const pid_t pid = m_pid;
      return Unexpected(
          TransportError{TransportError::Kind::WorkerGone,
                         fmt::format("the CRIU worker (pid {}) {}", pid, reap(true))});
    }
    return Unexpected(system_error("cannot send to the CRIU worker"));
  }
  return {};
}

Result<WireMessage, TransportError> SwrkTransport::receive(Deadline deadline,
                                                           const std::stop_token& stop) {
  const int wakeup_fd = m_wakeup.get();
  std::stop_callback on_stop(stop, [wakeup_fd] {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(wakeup_fd, &one, sizeof(one));
  });
  for (;;) {
    if (stop.stop_requested()) {
      return Unexpected(TransportError{TransportError::Kind::Cancelled, "cancelled"});
    }
    int timeout_ms = -1;
    if (deadline != Deadline::max()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return Unexpected(TransportError{TransportError::Kind::TimedOut, "timed out"});
      }
      timeout_ms = static_cast<int>(std::min<std::int64_t>(left.count(), 60'000));
    }
    pollfd fds[2] = {{m_socket.get(), POLLIN, 0}, {wakeup_fd, POLLIN, 0}};
    const int ready = ::poll(fds, 2, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      return Unexpected(system_error("cannot wait for the CRIU worker"));
    }
    if (ready > 0 && fds[0].revents != 0) {
      break;
    }
  }

  const ssize_t size = ::recv(m_socket.get(), nullptr, 0, MSG_PEEK | MSG_TRUNC);
  if (size < 0) {
    return Unexpected(system_error("cannot read from the CRIU worker"));
  }
  if (size == 0) {
    const pid_t pid = m_pid;
    return Unexpected(TransportError{
        TransportError::Kind::WorkerGone,
        fmt::format("the CRIU worker (pid {}) {} without replying", pid, reap(true))});
  }
  WireMessage message;
  message.bytes.resize(static_cast<std::size_t>(size));
  iovec iov{message.bytes.data(), message.bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof(control);
  ssize_t got;
  do {
    got = ::recvmsg(m_socket.get(), &header, MSG_CMSG_CLOEXEC);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    return Unexpected(system_error("cannot read from the CRIU worker"));
  }
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
      continue;
    }
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (!message.fd) {
        message.fd.reset(fd);
      } else {
        ::close(fd);
      }
    }
  }
  message.bytes.resize(static_cast<std::size_t>(got));
  return message;
}

} // namespace stasis::engine
