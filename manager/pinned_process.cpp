#include "manager/pinned_process.hpp"

#include "engine/read_file.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::manager {
namespace {

// Debian bookworm's <sys/pidfd.h> lacks extern "C": call the kernel directly.
int open_pidfd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int signal_pidfd(int fd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0));
}

} // namespace

std::optional<std::uint64_t> process_start_time(pid_t pid) {
  auto text = engine::read_file(fmt::format("/proc/{}/stat", pid), 4096);
  if (!text) {
    return std::nullopt;
  }
  // comm (field 2) may hold blanks and ')': count fields after the last ')'.
  const auto close = text->rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::size_t pos = close + 1;
  for (int field = 3; field <= 22; ++field) {
    pos = text->find_first_not_of(' ', pos);
    if (pos == std::string::npos) {
      return std::nullopt;
    }
    const auto end = text->find(' ', pos);
    if (field == 22) {
      std::uint64_t value = 0;
      const char* last = text->data() + (end == std::string::npos ? text->size() : end);
      auto [ptr, error] = std::from_chars(text->data() + pos, last, value);
      if (error != std::errc()) {
        return std::nullopt;
      }
      return value;
    }
    pos = end;
  }
  return std::nullopt;
}

Result<PinnedProcess> PinnedProcess::pin(pid_t pid) {
  auto fd = std::make_shared<util::UniqueFd>(open_pidfd(pid));
  if (!*fd) {
    return make_error("no process {}: {}", pid, std::strerror(errno));
  }
  // Read after the pidfd exists: if the pid was reused in between, the start
  // time belongs to the new process and check_same() sees the pidfd's
  // process gone.
  auto start = process_start_time(pid);
  if (!start) {
    return make_error("no process {}", pid);
  }
  return PinnedProcess(pid, std::move(fd), *start);
}

Result<void> PinnedProcess::check_same() const {
  if (signal_pidfd(m_fd->get(), 0) != 0) {
    return make_error("process {} has exited since the request", m_pid);
  }
  auto start = process_start_time(m_pid);
  if (!start || *start != m_start) {
    return make_error("pid {} now belongs to another process than the one named in "
                      "the request",
                      m_pid);
  }
  return ok();
}

} // namespace stasis::manager
