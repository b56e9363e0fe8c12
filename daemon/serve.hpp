// Serving a manager on the bus: export the object, own io.stasis.Stasis1,
// run the service loop until SIGTERM/SIGINT, reload on SIGHUP.
#pragma once

#include "manager/api.hpp"
#include "util/result.hpp"

#include <string>

namespace stasis::daemon {

// Serves `manager` on `bus` ("system", "session" or an address) until a
// SIGTERM or SIGINT arrives on `signal_fd` (see watch_signals()); a SIGHUP
// reloads the policies. Fails when the bus is unreachable, the name is taken
// or the connection breaks.
Result<void> serve(const std::string& bus, manager::ManagerApi& manager, int signal_fd);

} // namespace stasis::daemon
