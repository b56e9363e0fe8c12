#include "cli/daemon_client.hpp"

#include "dbus/bus.hpp"
#include "policy/diagnostics.hpp"

#include <charconv>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string_view>
#include <unistd.h>

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

namespace {

// The job the parsed command names (its JOB or job argument, or --job).
std::optional<std::string> named_job(const CLI::App* app) {
  if (app == nullptr) {
    return std::nullopt;
  }
  for (const CLI::App* command : app->get_subcommands()) {
    for (const char* name : {"job", "JOB", "--job"}) {
      const CLI::Option* option = command->get_option_no_throw(name);
      if (option != nullptr && option->count() > 0) {
        return option->as<std::string>();
      }
    }
  }
  return std::nullopt;
}

// "did you mean 'web'?" for an unknown job, from the jobs the caller may list
// (asked anew: the daemon's error never names other jobs).
void hint_job(const GlobalOptions& options) {
  const auto typed = named_job(options.app);
  if (!typed || typed->empty()) {
    return;
  }
  auto client = dbus::Client::connect(dbus::resolve_bus(options.bus));
  if (!client) {
    return;
  }
  auto jobs = (*client)->list_jobs();
  if (!jobs) {
    return;
  }
  std::vector<std::string> names;
  for (const auto& job : *jobs) {
    names.push_back(job.name);
  }
  if (const auto nearest = nearest_job(*typed, names)) {
    std::cerr << "stasisctl: did you mean '" << *nearest << "'?\n";
  }
}

} // namespace

std::optional<std::string> nearest_job(const std::string& typed,
                                       const std::vector<std::string>& names) {
  std::optional<std::string> best;
  std::size_t best_distance = k_max_job_hint_distance + 1;
  for (const auto& name : names) {
    const auto distance = policy::edit_distance(typed, name);
    if (distance < best_distance || (distance == best_distance && best && name < *best)) {
      best = name;
      best_distance = distance;
    }
  }
  if (best) {
    return best;
  }
  for (const auto& name : names) {
    const bool prefix = name.starts_with(typed) || typed.starts_with(name);
    if (prefix && (!best || name.size() < best->size() ||
                   (name.size() == best->size() && name < *best))) {
      best = name;
    }
  }
  return best;
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
    if (error.name.ends_with(".NoSuchJob")) {
      hint_job(options);
    }
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

namespace {

// A client of a stasisd that runs now, or nullptr (exit code 3 when none).
std::unique_ptr<dbus::Client> quiet_client(GlobalOptions& options) {
  auto client = dbus::Client::connect(dbus::resolve_bus(options.bus));
  if (!client) {
    options.exit_code = k_exit_unreachable;
    return nullptr;
  }
  auto running = (*client)->daemon_running();
  if (!running || !*running) {
    options.exit_code = k_exit_unreachable;
    return nullptr;
  }
  return std::move(client).value();
}

} // namespace

std::vector<std::string> quiet_job_names(GlobalOptions& options) {
  std::vector<std::string> names;
  if (auto client = quiet_client(options)) {
    if (auto jobs = client->list_jobs()) {
      for (const auto& job : *jobs) {
        names.push_back(job.name);
      }
    } else {
      options.exit_code = exit_code_of(jobs.error());
    }
  }
  return names;
}

std::vector<std::string> quiet_checkpoint_ids(GlobalOptions& options,
                                              const std::string& job) {
  std::vector<std::string> ids;
  if (auto client = quiet_client(options)) {
    if (auto items = client->list_checkpoints(job)) {
      for (const auto& item : *items) {
        ids.push_back(item.id);
      }
    } else {
      options.exit_code = exit_code_of(items.error());
    }
  }
  return ids;
}

dbus::CResult<std::string>
resolve_checkpoint(dbus::Client& client, const std::string& job, const std::string& id) {
  if (id != "latest") {
    return id;
  }
  auto items = client.list_checkpoints(job);
  if (!items) {
    return Unexpected(std::move(items).error());
  }
  // The newest is the one with the highest id (ids only grow within a job).
  std::optional<std::uint64_t> newest;
  for (const auto& item : *items) {
    std::uint64_t number = 0;
    const auto* end = item.id.data() + item.id.size();
    if (auto [at, error] = std::from_chars(item.id.data(), end, number);
        error == std::errc() && at == end && (!newest || number > *newest)) {
      newest = number;
    }
  }
  if (!newest) {
    return Unexpected(dbus::ClientError{dbus::ClientErrorKind::NotFound,
                                        "io.stasis.Stasis1.Error.NoSuchCheckpoint",
                                        fmt::format("job '{}' has no checkpoints", job)});
  }
  return std::to_string(*newest);
}

std::string format_duration(std::uint64_t usec) {
  constexpr std::uint64_t k_ms = 1000;
  constexpr std::uint64_t k_s = 1000 * k_ms;
  constexpr std::uint64_t k_min = 60 * k_s;
  if (usec < k_ms) {
    return fmt::format("{} us", usec);
  }
  if (usec < k_s) {
    return fmt::format("{} ms", usec / k_ms);
  }
  if (usec < k_min) {
    // Tenths, cut rather than rounded: 59.99 s is "59.9 s", never "60.0 s".
    return fmt::format("{}.{} s", usec / k_s, usec % k_s / (k_s / 10));
  }
  return fmt::format("{} min {} s", usec / k_min, usec % k_min / k_s);
}

bool may_use_escape_codes() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDOUT_FILENO) == 1 && ::isatty(STDERR_FILENO) == 1 &&
         term != nullptr && *term != '\0' && std::string_view(term) != "dumb";
}

std::string format_time(const std::optional<manager::TimePoint>& time) {
  if (!time) {
    return "-";
  }
  const std::time_t seconds = std::chrono::system_clock::to_time_t(*time);
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", fmt::localtime(seconds));
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
