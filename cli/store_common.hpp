// Shared by the store command files (cmd_store.cpp: checkpoint commands,
// cmd_store_admin.cpp: store maintenance and transfer): arguments, output
// helpers, and running a command against an opened store.
#pragma once

#include "cli/commands.hpp"
#include "policy/duration.hpp"
#include "store/store.hpp"

#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stasis::cli::store_cmd {

using nlohmann::json;
namespace st = stasis::store;

// The values the store commands' options fill in.
struct StoreArgs {
  std::string state_dir = "/var/lib/stasis";
  std::string job;
  std::uint64_t id = 0;
  std::string path;
  std::string parent;
  bool dry_run = false;
  bool criu_dir = false;
  bool verify_data = false;
  st::IngestInfo info;
  std::optional<unsigned> keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly,
      keep_yearly;
  std::string keep_within;
  std::string max_total_size;
  std::string time_zone;
};

// "1.5 GiB" etc.
std::string human(std::uint64_t bytes);
// Local time "2024-05-01 12:00:00".
std::string time_text(std::chrono::sys_seconds t);
json to_json(const st::CheckpointSummary& s);
json to_json(const std::vector<st::DamagedCheckpoint>& damaged);
json to_json(const st::GcReport& r);
// "DAMAGED job/id: files" and its problems, one per line.
void print_damaged(const std::vector<st::DamagedCheckpoint>& damaged);

// Runs body with an opened store; errors go to stderr (or JSON) with exit 1.
template <typename Body>
void run(GlobalOptions& options, const StoreArgs& args, Body&& body) {
  auto store = st::Store::open(args.state_dir);
  Result<void> result = store ? body(*store) : Result<void>(Unexpected(store.error()));
  if (!result) {
    if (options.json) {
      std::cout << json{{"error", result.error().message}}.dump() << "\n";
    } else {
      std::cerr << "stasisctl: " << result.error().message << "\n";
    }
    if (options.exit_code == 0) {
      options.exit_code = 1;
    }
  }
}

// Adds a store subcommand with its --state-dir option (hidden: not listed).
CLI::App* command(CLI::App& app, const std::string& name, const std::string& help,
                  StoreArgs& args, bool hidden = false);
// True when the command goes through stasisd: no --state-dir on its command line.
bool asks_daemon(CLI::App* sub);
// Adds the JOB and ID positionals.
void add_job_id(CLI::App* sub, StoreArgs& args);

} // namespace stasis::cli::store_cmd
