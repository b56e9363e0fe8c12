#include "cli/store_via_daemon.hpp"

#include "cli/daemon_client.hpp"

#include <algorithm>
#include <iostream>

namespace stasis::cli::via_daemon {
namespace {

using nlohmann::json;

void print_table(const std::vector<manager::CheckpointInfo>& items) {
  std::cout << fmt::format("{:>6}  {:19}  {:>10}  {:>10}  {}\n", "ID", "CREATED",
                           "LOGICAL", "STORED", "FLAGS");
  for (const auto& c : items) {
    if (!c.problem.empty()) {
      std::cout << fmt::format("{:>6}  {:19}  {:>10}  {:>10}  {}\n", c.id, "-", "-", "-",
                               c.pinned ? "pinned damaged" : "damaged");
      continue;
    }
    std::cout << fmt::format("{:>6}  {:19}  {:>10}  {:>10}  {}\n", c.id,
                             format_time(c.created), format_bytes(c.logical_bytes),
                             format_bytes(c.stored_bytes), c.pinned ? "pinned" : "");
  }
  for (const auto& c : items) {
    if (!c.problem.empty()) {
      std::cout << fmt::format("DAMAGED checkpoint {}: {}\n", c.id, c.problem);
    }
  }
}

} // namespace

void list_checkpoints(GlobalOptions& options, const std::string& job) {
  auto items =
      call_daemon(options, [&](dbus::Client& c) { return c.list_checkpoints(job); });
  if (!items) {
    return;
  }
  if (options.json) {
    json out = json::array();
    for (const auto& c : *items) {
      out.push_back(to_json(c));
    }
    std::cout << out.dump(2) << "\n";
  } else {
    print_table(*items);
  }
}

void show_checkpoint(GlobalOptions& options, const std::string& job,
                     const std::string& id) {
  std::string wanted = id;
  auto items = call_daemon(options, [&](dbus::Client& c) {
    auto resolved = resolve_checkpoint(c, job, id);
    if (!resolved) {
      return dbus::CResult<std::vector<manager::CheckpointInfo>>(
          Unexpected(std::move(resolved).error()));
    }
    wanted = *resolved;
    return c.list_checkpoints(job);
  });
  if (!items) {
    return;
  }
  const auto found = std::find_if(items->begin(), items->end(),
                                  [&](const auto& c) { return c.id == wanted; });
  if (found == items->end()) {
    std::cerr << fmt::format("stasisctl: job '{}' has no checkpoint '{}'\n", job, id);
    options.exit_code = k_exit_not_found;
    return;
  }
  if (options.json) {
    std::cout << to_json(*found).dump(2) << "\n";
    return;
  }
  const auto& c = *found;
  std::cout << fmt::format("checkpoint {}/{}\n", job, c.id)
            << fmt::format("  created       {}\n", format_time(c.created))
            << fmt::format("  previous      {}\n", c.previous.empty() ? "-" : c.previous)
            << fmt::format("  pinned        {}\n", c.pinned ? "yes" : "no")
            << fmt::format("  logical       {}\n", format_bytes(c.logical_bytes))
            << fmt::format("  newly stored  {}\n", format_bytes(c.stored_bytes))
            << fmt::format("  criu          {}\n", c.criu_version)
            << fmt::format("  fingerprint   {}\n", c.fingerprint)
            << fmt::format("  frozen        {}\n", format_duration(c.frozen_usec))
            << "  (processes, files, kernel and CPU: stasisctl inspect JOB ID)\n";
}

void delete_checkpoint(GlobalOptions& options, const std::string& job,
                       const std::string& id) {
  std::string deleted = id;
  if (!call_daemon_void(options, [&](dbus::Client& c) -> dbus::CResult<void> {
        deleted = STASIS_TRY(resolve_checkpoint(c, job, id));
        return c.delete_checkpoint(job, deleted);
      })) {
    return;
  }
  if (options.json) {
    std::cout << json{{"job", job}, {"deleted", deleted}}.dump(2) << "\n";
  } else {
    std::cout << fmt::format("deleted {}/{}\n", job, deleted);
  }
}

void pin_checkpoint(GlobalOptions& options, const std::string& job, const std::string& id,
                    bool pin) {
  std::string pinned = id;
  if (!call_daemon_void(options, [&](dbus::Client& c) -> dbus::CResult<void> {
        pinned = STASIS_TRY(resolve_checkpoint(c, job, id));
        return c.pin_checkpoint(job, pinned, pin);
      })) {
    return;
  }
  if (options.json) {
    std::cout << json{{"job", job}, {"id", pinned}, {"pinned", pin}}.dump() << "\n";
  }
}

void prune(GlobalOptions& options, const std::string& job, bool dry_run) {
  auto lines =
      call_daemon(options, [&](dbus::Client& c) { return c.prune(job, dry_run); });
  if (!lines) {
    return;
  }
  if (options.json) {
    std::cout << json{{"job", job}, {"dry_run", dry_run}, {"decisions", *lines}}.dump(2)
              << "\n";
    return;
  }
  for (const auto& line : *lines) {
    std::cout << line << "\n";
  }
  if (dry_run) {
    std::cout << "(dry run: nothing deleted)\n";
  }
}

void verify(GlobalOptions& options, const std::string& job, const std::string& id) {
  std::string verified = id;
  auto result =
      call_daemon(options, [&](dbus::Client& c) -> dbus::CResult<manager::VerifyReport> {
        verified = STASIS_TRY(resolve_checkpoint(c, job, id));
        return c.verify(job, verified);
      });
  if (!result) {
    return;
  }
  if (options.json) {
    std::cout
        << json{{"job", job}, {"ok", result->ok}, {"problems", result->problems}}.dump(2)
        << "\n";
  } else {
    for (const auto& problem : result->problems) {
      std::cout << "DAMAGED " << job << ": " << problem << "\n";
    }
    std::cout << fmt::format("{}{}: {}\n", job, verified.empty() ? "" : "/" + verified,
                             result->ok ? "ok" : "DAMAGED");
  }
  if (!result->ok) {
    options.exit_code = 2;
  }
}

} // namespace stasis::cli::via_daemon
