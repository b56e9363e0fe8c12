#include "manager/child_reaper.hpp"

#include "util/log.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace stasis::manager {
namespace {

int pidfd_of(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) {
    return "exited with code " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
  }
  return "ended with wait status " + std::to_string(status);
}

} // namespace

ChildReaper::~ChildReaper() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  wake();
  if (m_thread.joinable()) {
    m_thread.join();
  }
  if (m_wake_fd >= 0) {
    ::close(m_wake_fd);
  }
}

void ChildReaper::adopt(pid_t pid, std::string what) {
  std::lock_guard lock(m_mutex);
  if (m_stopping) {
    return;
  }
  m_children[pid] = std::move(what);
  if (!m_thread.joinable()) {
    m_wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_wake_fd < 0) {
      log::get("manager")->warn("cannot reap restored children: eventfd: {}",
                                std::strerror(errno));
      return;
    }
    m_thread = std::thread([this] { run(); });
    return;
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(m_wake_fd, &one, sizeof one);
}

void ChildReaper::wake() {
  std::lock_guard lock(m_mutex);
  if (m_wake_fd >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(m_wake_fd, &one, sizeof one);
  }
}

void ChildReaper::run() {
  auto logger = log::get("manager");
  std::map<pid_t, int> pidfds;
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<pid_t> pids;
    {
      std::lock_guard lock(m_mutex);
      if (m_stopping) {
        break;
      }
      fds.push_back({m_wake_fd, POLLIN, 0});
      for (auto child = m_children.begin(); child != m_children.end();) {
        const pid_t pid = child->first;
        auto it = pidfds.find(pid);
        if (it == pidfds.end()) {
          const int fd = pidfd_of(pid);
          if (fd < 0) { // gone already (reaped elsewhere)
            child = m_children.erase(child);
            continue;
          }
          it = pidfds.emplace(pid, fd).first;
        }
        fds.push_back({it->second, POLLIN, 0});
        pids.push_back(pid);
        ++child;
      }
    }
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) {
      logger->warn("reaping restored children: poll: {}", std::strerror(errno));
      break;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      std::uint64_t count = 0;
      [[maybe_unused]] auto n = ::read(m_wake_fd, &count, sizeof count);
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      const pid_t pid = pids[i - 1];
      int status = 0;
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == 0) {
        continue; // not exited yet (e.g. a spurious wakeup)
      }
      std::lock_guard lock(m_mutex);
      if (r == pid) {
        logger->info("restored {} (pid {}) {}", m_children[pid], pid,
                     describe_exit(status));
      }
      // r < 0: not our child (any more); nothing to reap.
      ::close(pidfds[pid]);
      pidfds.erase(pid);
      m_children.erase(pid);
    }
  }
  for (const auto& [pid, fd] : pidfds) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
}

} // namespace stasis::manager
