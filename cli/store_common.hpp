// Shared by the store command files (cmd_store.cpp: checkpoint commands,
// cmd_store_admin.cpp: store maintenance and transfer): arguments, output
// helpers, and running a command against an opened store.
#pragma once

#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "policy/duration.hpp"
#include "store/store.hpp"

#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace stasis::cli::store_cmd {

using nlohmann::json;
namespace st = stasis::store;

// The values the store commands' options fill in.
struct StoreArgs {
  std::string state_dir = "/var/lib/stasis";
  std::string job;
  // The checkpoint id as typed (a number or "latest"); run() resolves it into id.
  std::string id_text;
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
// The checkpoint object (json_output.hpp), as stasisd's listing has it.
json to_json(const st::CheckpointSummary& s);
json to_json(const std::vector<st::DamagedCheckpoint>& damaged);
// "checkpoint ID: problem" lines, as stasisd's Verify reports them.
std::vector<std::string> problems_of(const std::vector<st::DamagedCheckpoint>& damaged);
json to_json(const st::GcReport& r);
// "DAMAGED job/id: files" and its problems, one per line.
void print_damaged(const std::vector<st::DamagedCheckpoint>& damaged);

// The word that names the newest checkpoint of a job wherever an id is taken.
inline constexpr std::string_view k_latest = "latest";

// True for "latest" and for a number: what a checkpoint id argument may be.
bool is_checkpoint_id(std::string_view text);

// Resolves a typed checkpoint id: a number, or "latest" (the job's newest
// checkpoint; an error when the job has none).
Result<std::uint64_t> resolve_id(const st::Store& store, const std::string& job,
                                 const std::string& text);

// Whether a command may create the store it is given (only those that store
// a checkpoint: import, ingest); the others need one that exists.
enum class StoreOpen { Existing, MayCreate };

// Opens the store of args.state_dir; with StoreOpen::Existing, a directory
// that is not (yet) a store is an error and nothing is created.
Result<st::Store> open_store(const StoreArgs& args, StoreOpen mode);

// Runs body with an opened store, args.id resolved from args.id_text when one
// was given; errors go to stderr (with --json too) with exit 1 (5 for a checkpoint
// that does not exist, 2 for an id that is no number, 5 for a missing store).
template <typename Body>
void run(GlobalOptions& options, StoreArgs& args, Body&& body,
         StoreOpen mode = StoreOpen::Existing) {
  auto store = open_store(args, mode);
  Result<void> result = ok();
  if (!store) {
    result = Unexpected(store.error());
    if (mode == StoreOpen::Existing) {
      options.exit_code = 5;
    }
  } else if (auto id = args.id_text.empty() ? Result<std::uint64_t>(args.id)
                                            : resolve_id(*store, args.job, args.id_text);
             !id) {
    result = Unexpected(id.error());
    options.exit_code = is_checkpoint_id(args.id_text) ? 5 : 2;
  } else {
    args.id = *id;
    result = body(*store);
  }
  if (!result) {
    std::cerr << "stasisctl: " << result.error().message << "\n";
    if (options.exit_code == 0) {
      options.exit_code = 1;
    }
  }
}

// run() for the commands that store a checkpoint: creates the store if needed.
template <typename Body>
void run_creating(GlobalOptions& options, StoreArgs& args, Body&& body) {
  run(options, args, std::forward<Body>(body), StoreOpen::MayCreate);
}

// Adds a store subcommand with its --state-dir option (hidden: not listed).
CLI::App* command(CLI::App& app, const std::string& name, const std::string& help,
                  StoreArgs& args, bool hidden = false);
// True when the command goes through stasisd: no --state-dir on its command line.
bool asks_daemon(CLI::App* sub);
// Adds the JOB and ID positionals (ID: a number or "latest").
void add_job_id(CLI::App* sub, StoreArgs& args);

} // namespace stasis::cli::store_cmd
