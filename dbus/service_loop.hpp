// The event loop of a D-Bus service: processes the connection's messages and
// watches further descriptors (the event queue, a signalfd) on ONE thread.
//
// sdbus-c++ 1.2's own enterEventLoop() cannot watch other descriptors, so this
// loop follows the library's external-loop recipe instead:
// processPendingRequest() until idle, then poll() the bus descriptor (with the
// events and timeout of getEventLoopPollData()) together with our own.
#pragma once

#include "util/result.hpp"
#include "util/unique_fd.hpp"

#include <functional>
#include <memory>
#include <vector>

namespace sdbus {
class IConnection;
}

namespace stasis::dbus {

class ServiceLoop {
public:
  // Creates a loop for a connection, which must outlive the loop.
  static Result<std::unique_ptr<ServiceLoop>> create(sdbus::IConnection& connection);

  // Calls on_ready on the loop thread whenever fd is readable. The callback
  // must consume what made fd readable. Call before run().
  void watch(int fd, std::function<void()> on_ready);

  // Runs until stop(); fails when the bus connection breaks.
  Result<void> run();

  // Makes run() return soon; safe from any thread.
  void stop();

private:
  ServiceLoop(sdbus::IConnection& connection, util::UniqueFd stop_fd)
      : m_connection(connection), m_stop_fd(std::move(stop_fd)) {}

  Result<void> process_pending();

  struct Watch {
    int fd;
    std::function<void()> on_ready;
  };

  sdbus::IConnection& m_connection;
  util::UniqueFd m_stop_fd;
  std::vector<Watch> m_watches;
};

} // namespace stasis::dbus
