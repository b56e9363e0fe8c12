#include "dbus/bus.hpp"

#include <cstdlib>

#include <sdbus-c++/Error.h>
#include <sdbus-c++/IConnection.h>

namespace stasis::dbus {

std::string resolve_bus(const std::string& explicit_choice) {
  if (!explicit_choice.empty()) {
    return explicit_choice;
  }
  const char* env = std::getenv(k_bus_env);
  if (env != nullptr && *env != '\0') {
    return env;
  }
  return "system";
}

Result<std::unique_ptr<sdbus::IConnection>> connect_bus(const std::string& bus) {
  try {
    if (bus == "system") {
      return sdbus::createSystemBusConnection();
    }
    if (bus == "session") {
      return sdbus::createSessionBusConnection();
    }
    if (bus.find(':') != std::string::npos) {
      return sdbus::createSessionBusConnectionWithAddress(bus);
    }
  } catch (const sdbus::Error& error) {
    return make_error("cannot connect to the {} bus: {}", bus, error.getMessage());
  }
  return make_error("'{}' is not a bus: use system, session or a D-Bus address such as "
                    "unix:path=/run/dbus/system_bus_socket",
                    bus);
}

} // namespace stasis::dbus
