#include "dbus/service_loop.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sdbus-c++/Error.h>
#include <sdbus-c++/IConnection.h>

namespace stasis::dbus {

Result<std::unique_ptr<ServiceLoop>> ServiceLoop::create(sdbus::IConnection& connection) {
  util::UniqueFd stop_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd) {
    return make_error("cannot create the service loop's eventfd: {}",
                      std::strerror(errno));
  }
  return std::unique_ptr<ServiceLoop>(new ServiceLoop(connection, std::move(stop_fd)));
}

void ServiceLoop::watch(int fd, std::function<void()> on_ready) {
  m_watches.push_back(Watch{fd, std::move(on_ready)});
}

void ServiceLoop::stop() {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(m_stop_fd.get(), &one, sizeof(one));
}

Result<void> ServiceLoop::process_pending() {
  try {
    while (m_connection.processPendingRequest()) {
    }
  } catch (const sdbus::Error& error) {
    return make_error("the D-Bus connection failed: {}", error.getMessage());
  }
  return ok();
}

Result<void> ServiceLoop::run() {
  std::vector<pollfd> fds;
  while (true) {
    STASIS_TRY(process_pending());

    sdbus::IConnection::PollData bus;
    try {
      bus = m_connection.getEventLoopPollData();
    } catch (const sdbus::Error& error) {
      return make_error("the D-Bus connection failed: {}", error.getMessage());
    }
    fds.clear();
    fds.push_back(pollfd{bus.fd, bus.events, 0});
    fds.push_back(pollfd{m_stop_fd.get(), POLLIN, 0});
    for (const auto& watch : m_watches) {
      fds.push_back(pollfd{watch.fd, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), bus.getPollTimeout()) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_error("poll() in the service loop failed: {}", std::strerror(errno));
    }
    if ((fds[1].revents & POLLIN) != 0) {
      std::uint64_t count = 0;
      [[maybe_unused]] const auto got = ::read(m_stop_fd.get(), &count, sizeof(count));
      // Send what is still queued (replies, last signals) before leaving.
      STASIS_TRY(process_pending());
      return ok();
    }
    for (std::size_t i = 0; i < m_watches.size(); ++i) {
      if ((fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        m_watches[i].on_ready();
      }
    }
  }
}

} // namespace stasis::dbus
