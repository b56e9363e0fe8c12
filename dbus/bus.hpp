// Opening a bus connection from a user's choice of bus.
#pragma once

#include "util/result.hpp"

#include <memory>
#include <string>

namespace sdbus {
class IConnection;
}

namespace stasis::dbus {

// The environment variable that selects a bus when no --bus is given.
inline constexpr const char* k_bus_env = "STASIS_BUS_ADDRESS";

// Returns the bus to use: the explicit choice if not empty, else
// $STASIS_BUS_ADDRESS if set and not empty, else "system".
std::string resolve_bus(const std::string& explicit_choice);

// Connects to "system", "session" or a D-Bus address such as
// "unix:path=/run/stasis-test/bus" (anything containing ':').
Result<std::unique_ptr<sdbus::IConnection>> connect_bus(const std::string& bus);

} // namespace stasis::dbus
