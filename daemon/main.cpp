// stasisd: the stasis daemon. Thin: options, capability check, the manager,
// then serve() until SIGTERM. The only place (with the D-Bus boundary) where
// exceptions are caught.
#include "daemon/options.hpp"
#include "daemon/serve.hpp"
#include "daemon/signals.hpp"
#include "manager/capabilities.hpp"
#include "manager/daemon_config.hpp"
#include "util/log.hpp"
#include "util/version.hpp"

#include <exception>

#include <fmt/format.h>
#include <sdbus-c++/sdbus-c++.h>

int main(int argc, char** argv) {
  using namespace stasis;
  CLI::App app{"stasisd - the stasis checkpoint/restore daemon"};
  daemon::DaemonOptions options;
  daemon::add_daemon_options(app, options);
  app.set_version_flag("--version", fmt::format("stasisd {}", util::k_version),
                       "Print the version of stasisd and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  log::set_level(options.verbose >= 2   ? spdlog::level::trace
                 : options.verbose == 1 ? spdlog::level::debug
                                        : spdlog::level::info);
  auto logger = log::get("daemon");
  if (auto safe = daemon::check_config_file(app); !safe) {
    logger->error("{}", safe.error().message);
    return 2;
  }
  logger->info("{}", daemon::describe_user_limits(options.config));
  try {
    const auto capabilities = manager::check_daemon_capabilities();
    if (!capabilities.sufficient()) {
      for (const auto& problem : capabilities.problems) {
        logger->error("{}", problem);
      }
      logger->error("stasisd lacks capabilities CRIU needs; run it as root or from "
                    "stasisd.service (CapabilityBoundingSet=)");
      return 1;
    }
    const auto signal_fd = daemon::watch_signals();
    if (!signal_fd) {
      logger->error("{}", signal_fd.error().message);
      return 1;
    }
    // The name first: a second stasisd on the bus stops here, before its
    // manager (and scheduler) could run anything.
    auto connection = daemon::own_bus_name(options.bus);
    if (!connection) {
      logger->error("{}", connection.error().message);
      return 1;
    }
    auto manager = manager::make_manager(options.config);
    if (!manager) {
      logger->error("the manager could not start (see the messages above)");
      return 1;
    }
    auto served = daemon::serve(**connection, options.bus, *manager, *signal_fd);
    if (!served) {
      logger->error("{}", served.error().message);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    logger->critical("stasisd: {}", e.what());
    return 1;
  }
}
