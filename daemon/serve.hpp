// Serving a manager on the bus: own io.stasis.Stasis1 (before the manager
// starts), export the object, run the service loop until SIGTERM/SIGINT,
// reload on SIGHUP.
#pragma once

#include "manager/api.hpp"
#include "util/result.hpp"

#include <memory>
#include <string>

namespace sdbus {
class IConnection;
}

namespace stasis::daemon {

// Connects to `bus` ("system", "session" or an address) and owns
// io.stasis.Stasis1 there. stasisd does this before it starts the manager
// (and its scheduler): a second stasisd on the bus fails here, having run
// nothing. Calls that arrive before serve() wait in the connection.
Result<std::unique_ptr<sdbus::IConnection>> own_bus_name(const std::string& bus);

// Serves `manager` on a connection from own_bus_name() until a SIGTERM or
// SIGINT arrives on `signal_fd` (see watch_signals()); a SIGHUP reloads the
// policies. Fails when the connection breaks.
Result<void> serve(sdbus::IConnection& connection, const std::string& bus,
                   manager::ManagerApi& manager, int signal_fd);

} // namespace stasis::daemon
