#include "daemon/serve.hpp"

#include "daemon/signals.hpp"
#include "dbus/bus.hpp"
#include "dbus/manager_adaptor.hpp"
#include "dbus/names.hpp"
#include "dbus/service_loop.hpp"
#include "util/log.hpp"

#include <signal.h>
#include <unistd.h>

#include <fmt/ranges.h>
#include <sdbus-c++/sdbus-c++.h>

namespace stasis::daemon {
namespace {

// SIGHUP: reload as root on behalf of the administrator who sent it.
void reload(manager::ManagerApi& manager) {
  auto logger = log::get("daemon");
  const manager::Caller admin{.uid = 0, .gid = 0, .pid = ::getpid()};
  auto changes = manager.reload(admin);
  if (!changes) {
    logger->error("reload on SIGHUP failed, keeping the old policies: {}",
                  changes.error().message);
    return;
  }
  logger->info("reloaded on SIGHUP: added [{}], removed [{}], changed [{}]",
               fmt::join(changes->added, ", "), fmt::join(changes->removed, ", "),
               fmt::join(changes->changed, ", "));
}

Result<void> request_name(sdbus::IConnection& connection, const std::string& bus) {
  try {
    connection.requestName(dbus::k_bus_name);
  } catch (const sdbus::Error& error) {
    return make_error(
        "cannot own {} on the {} bus: {} (is another stasisd running? on the "
        "system bus, is units/io.stasis.Stasis1.conf installed in "
        "/usr/share/dbus-1/system.d?)",
        dbus::k_bus_name, bus, error.getMessage());
  }
  return ok();
}

} // namespace

Result<std::unique_ptr<sdbus::IConnection>> own_bus_name(const std::string& bus) {
  auto connection = STASIS_TRY(dbus::connect_bus(bus));
  STASIS_TRY(request_name(*connection, bus));
  return connection;
}

Result<void> serve(sdbus::IConnection& connection, const std::string& bus,
                   manager::ManagerApi& manager, int signal_fd) {
  auto logger = log::get("daemon");
  // The name is owned already (own_bus_name); a call that came since waits
  // in the connection until the loop below runs, and finds the object.
  auto adaptor = STASIS_TRY(dbus::ManagerAdaptor::create(connection, manager));
  auto loop = STASIS_TRY(dbus::ServiceLoop::create(connection));

  loop->watch(adaptor->event_fd(), [&adaptor] { adaptor->emit_pending(); });
  loop->watch(signal_fd, [&] {
    while (const auto number = next_signal(signal_fd)) {
      if (*number == SIGHUP) {
        reload(manager);
      } else {
        logger->info("stopping on signal {}", ::strsignal(*number));
        loop->stop();
      }
    }
  });

  logger->info("serving {} at {} on the {} bus (version {})", dbus::k_bus_name,
               dbus::k_object_path, bus, manager.version());
  auto result = loop->run();
  try {
    connection.releaseName(dbus::k_bus_name);
  } catch (const sdbus::Error& error) {
    logger->debug("releasing {}: {}", dbus::k_bus_name, error.getMessage());
  }
  return result;
}

} // namespace stasis::daemon
