#include "cli/daemon_client.hpp"

#include "dbus/bus.hpp"

#include <ctime>
#include <iostream>

#include <fmt/chrono.h>

namespace stasis::cli {

int exit_code_of(const dbus::ClientError& error) {
  switch (error.kind) {
  case dbus::ClientErrorKind::Unreachable:
    return k_exit_unreachable;
  case dbus::ClientErrorKind::AccessDenied:
    return k_exit_denied;
  case dbus::ClientErrorKind::NotFound:
    return k_exit_not_found;
  case dbus::ClientErrorKind::InvalidArgument:
    return k_exit_usage;
  case dbus::ClientErrorKind::Failed:
    break;
  }
  return k_exit_failure;
}

void report(const dbus::ClientError& error, GlobalOptions& options) {
  std::cerr << "stasisctl: " << error.message << '\n';
  if (error.kind == dbus::ClientErrorKind::Unreachable) {
    std::cerr << "stasisctl: is stasisd running? (systemctl status stasisd; another bus: "
                 "--bus or STASIS_BUS_ADDRESS)\n";
  } else if (error.kind == dbus::ClientErrorKind::AccessDenied) {
    std::cerr << "stasisctl: the job's policy decides who may do this (access: in its "
                 "YAML); root may do everything\n";
  } else if (error.name.ends_with(".NoSuchJob") || error.name.ends_with(".NoSuchRun")) {
    // The daemon says the same for jobs the user may not list: say so here,
    // where the user reads it, without knowing which case it is.
    std::cerr << "stasisctl: `stasisctl jobs` lists the jobs you may see; jobs of other "
                 "users (and their runs) do not exist for you\n";
  }
  options.exit_code = exit_code_of(error);
}

std::unique_ptr<dbus::Client> connect_daemon(GlobalOptions& options) {
  auto client = dbus::Client::connect(dbus::resolve_bus(options.bus));
  if (!client) {
    report(client.error(), options);
    return nullptr;
  }
  return std::move(client).value();
}

std::string format_time(const std::optional<manager::TimePoint>& time) {
  if (!time) {
    return "-";
  }
  const std::time_t seconds = std::chrono::system_clock::to_time_t(*time);
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", fmt::localtime(seconds));
}

nlohmann::json json_time(const std::optional<manager::TimePoint>& time) {
  if (!time) {
    return nullptr;
  }
  const std::time_t seconds = std::chrono::system_clock::to_time_t(*time);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(seconds));
}

std::string format_bytes(std::uint64_t bytes) {
  constexpr const char* k_units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(k_units)) {
    value /= 1024.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{} B", bytes)
                   : fmt::format("{:.1f} {}", value, k_units[unit]);
}

} // namespace stasis::cli
