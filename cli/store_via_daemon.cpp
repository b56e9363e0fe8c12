// The store commands through stasisd (store_via_daemon.hpp); export and
// import: store_via_daemon_transfer.cpp.
#include "cli/store_via_daemon.hpp"

#include "cli/daemon_client.hpp"

#include <algorithm>
#include <iostream>
#include <optional>
#include <unistd.h>
#include <vector>

#include <fmt/ranges.h>

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
      out.push_back(checkpoint_json(job, c));
    }
    std::cout << out.dump(2) << "\n";
  } else {
    print_table(*items);
  }
}

void list_all_checkpoints(GlobalOptions& options) {
  auto items =
      call_daemon(options, [&](dbus::Client& c) { return c.list_all_checkpoints(); });
  if (!items) {
    return;
  }
  if (options.json) {
    json out = json::array();
    for (const auto& c : *items) {
      out.push_back(checkpoint_json(c.job, c));
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{:24}  {:>6}  {:19}  {:>10}  {:>10}  {}\n", "JOB", "ID",
                           "CREATED", "LOGICAL", "STORED", "FLAGS");
  for (const auto& c : *items) {
    std::vector<std::string> flags;
    if (c.pinned) {
      flags.emplace_back("pinned");
    }
    if (!c.problem.empty()) {
      flags.emplace_back("damaged");
    }
    if (c.orphan) {
      flags.emplace_back("orphan");
    }
    if (!c.renamed_to.empty()) {
      flags.push_back("renamed-to:" + c.renamed_to);
    }
    const bool known = c.problem.empty();
    std::cout << fmt::format(
        "{:24}  {:>6}  {:19}  {:>10}  {:>10}  {}\n", c.job, c.id,
        known ? format_time(c.created) : "-", known ? format_bytes(c.logical_bytes) : "-",
        known ? format_bytes(c.stored_bytes) : "-", fmt::join(flags, " "));
  }
  for (const auto& c : *items) {
    if (!c.problem.empty()) {
      std::cout << fmt::format("DAMAGED checkpoint {}/{}: {}\n", c.job, c.id, c.problem);
    }
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
    std::cout << checkpoint_json(job, *found).dump(2) << "\n";
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
    std::cout << json{{"job", job}, {"id", deleted}, {"gc", nullptr}}.dump(2) << "\n";
  } else if (!options.quiet) {
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
    std::cout << json{{"job", job}, {"id", pinned}, {"pinned", pin}}.dump(2) << "\n";
  }
}

void prune(GlobalOptions& options, const std::string& job, bool dry_run) {
  auto lines =
      call_daemon(options, [&](dbus::Client& c) { return c.prune(job, dry_run); });
  if (!lines) {
    return;
  }
  std::vector<PruneDecision> decisions;
  for (const auto& line : *lines) {
    auto decision = parse_prune_line(line);
    if (!decision) {
      std::cerr << "stasisctl: " << line << "\n"; // e.g. a former name's failure
      options.exit_code = k_exit_failure;
      return;
    }
    decisions.push_back(std::move(*decision));
  }
  if (options.json) {
    std::cout << prune_json(job, dry_run, decisions, nullptr).dump(2) << "\n";
    return;
  }
  if (options.quiet) {
    for (const auto& decision : decisions) {
      if (!decision.keep) {
        std::cout << (decision.job.empty() ? decision.id
                                           : decision.job + "/" + decision.id)
                  << "\n";
      }
    }
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
    std::cout << json{{"job", job},
                      {"id", json_id(verified)},
                      {"ok", result->ok},
                      {"problems", result->problems}}
                     .dump(2)
              << "\n";
  } else {
    for (const auto& problem : result->problems) {
      std::cout << "DAMAGED " << job << ": " << problem << "\n";
    }
    if (!options.quiet) {
      std::cout << fmt::format("{}{}: {}\n", job, verified.empty() ? "" : "/" + verified,
                               result->ok ? "ok" : "DAMAGED");
    }
  }
  if (!result->ok) {
    options.exit_code = k_exit_damaged;
  }
}

void disk_usage(GlobalOptions& options) {
  auto usage = call_daemon(options, [&](dbus::Client& c) { return c.disk_usage(); });
  if (!usage) {
    return;
  }
  auto ratio = [](std::uint64_t logical, std::uint64_t stored) {
    return stored == 0 ? 0.0 : static_cast<double>(logical) / static_cast<double>(stored);
  };
  if (options.json) {
    json jobs = json::array();
    for (const auto& j : usage->jobs) {
      jobs.push_back({{"job", j.job},
                      {"checkpoints", j.checkpoints},
                      {"logical_bytes", j.logical_bytes},
                      {"stored_bytes", j.stored_bytes},
                      {"dedup_ratio", ratio(j.logical_bytes, j.stored_bytes)}});
    }
    json out{{"jobs", jobs}};
    if (usage->whole_store) {
      out["logical_bytes"] = usage->logical_bytes;
      out["referenced_bytes"] = usage->referenced_bytes;
      out["pack_bytes"] = usage->pack_bytes;
      out["manifest_bytes"] = usage->manifest_bytes;
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{:20} {:>6} {:>10} {:>10} {:>7}\n", "JOB", "CKPTS", "LOGICAL",
                           "STORED", "RATIO");
  for (const auto& j : usage->jobs) {
    std::cout << fmt::format("{:20} {:>6} {:>10} {:>10} {:>6.1f}x\n", j.job,
                             j.checkpoints, format_bytes(j.logical_bytes),
                             format_bytes(j.stored_bytes),
                             ratio(j.logical_bytes, j.stored_bytes));
  }
  if (usage->whole_store) {
    std::cout << fmt::format(
        "total: {} logical, {} referenced, {} in packs, {} manifests\n",
        format_bytes(usage->logical_bytes), format_bytes(usage->referenced_bytes),
        format_bytes(usage->pack_bytes), format_bytes(usage->manifest_bytes));
  }
}

void fsck(GlobalOptions& options, bool verify_data) {
  auto r = call_daemon(options, [&](dbus::Client& c) { return c.fsck(verify_data); });
  if (!r) {
    return;
  }
  if (options.json) {
    std::cout << json{{"ok", r->ok},
                      {"packs", r->packs},
                      {"blobs", r->blobs},
                      {"checkpoints", r->checkpoints},
                      {"temp_files_removed", r->temp_files_removed},
                      {"orphan_packs_removed", r->orphan_packs_removed},
                      {"problems", r->problems}}
                     .dump(2)
              << "\n";
  } else {
    for (const auto& p : r->problems) {
      std::cout << "PROBLEM " << p << "\n";
    }
  }
  if (!options.json && !options.quiet) {
    std::cout << fmt::format("{} packs, {} blobs, {} checkpoints; removed {} temporary "
                             "files and {} unused packs: {}\n",
                             r->packs, r->blobs, r->checkpoints, r->temp_files_removed,
                             r->orphan_packs_removed, r->ok ? "clean" : "PROBLEMS");
  }
  if (!r->ok) {
    options.exit_code = k_exit_damaged;
  }
}

void gc(GlobalOptions& options) {
  auto r = call_daemon(options, [&](dbus::Client& c) { return c.collect_garbage(); });
  if (!r) {
    return;
  }
  if (options.json) {
    std::cout << gc_json(r->packs_deleted, r->packs_repacked, r->bytes_freed).dump(2)
              << "\n";
  } else if (!options.quiet) {
    std::cout << fmt::format("{} packs deleted, {} repacked, {} freed\n",
                             r->packs_deleted, r->packs_repacked,
                             format_bytes(r->bytes_freed));
  }
}

} // namespace stasis::cli::via_daemon
