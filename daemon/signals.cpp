#include "daemon/signals.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace stasis::daemon {
namespace {

int g_write_fd = -1;
int g_read_fd = -1;

extern "C" void on_signal(int number) {
  const int saved_errno = errno;
  const auto byte = static_cast<unsigned char>(number);
  [[maybe_unused]] const auto written = ::write(g_write_fd, &byte, 1);
  errno = saved_errno;
}

} // namespace

Result<int> watch_signals() {
  if (g_read_fd >= 0) {
    return g_read_fd;
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return make_error("cannot create the signal pipe: {}", std::strerror(errno));
  }
  g_read_fd = fds[0];
  g_write_fd = fds[1];
  struct sigaction action {};
  action.sa_handler = on_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (const int number : {SIGHUP, SIGTERM, SIGINT}) {
    if (::sigaction(number, &action, nullptr) != 0) {
      return make_error("cannot handle signal {}: {}", number, std::strerror(errno));
    }
  }
  return g_read_fd;
}

std::optional<int> next_signal(int fd) {
  unsigned char byte = 0;
  if (::read(fd, &byte, 1) != 1) {
    return std::nullopt;
  }
  return static_cast<int>(byte);
}

} // namespace stasis::daemon
