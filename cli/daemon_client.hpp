// Shared by the daemon command files (cmd_daemon*.cpp): connecting to stasisd,
// exit codes, and printing times and errors.
#pragma once

#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "dbus/client.hpp"

#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace stasis::cli {

// stasisctl's documented exit codes (see stasisctl(1)).
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failure = 1;     // the operation or the run failed
inline constexpr int k_exit_usage = 2;       // bad command line or argument
inline constexpr int k_exit_unreachable = 3; // no bus or no stasisd on it
inline constexpr int k_exit_denied = 4;      // the daemon refused the caller
inline constexpr int k_exit_not_found = 5;   // no such job, checkpoint or run
inline constexpr int k_exit_damaged = 6;     // verify or fsck found damage

// The exit code for a failed call.
int exit_code_of(const dbus::ClientError& error);

// Prints "stasisctl: <message>" (plus a hint for unreachable/denied, and for
// an unknown job the nearest job name the caller may list) to stderr and
// stores the exit code in options.
void report(const dbus::ClientError& error, GlobalOptions& options);

// The job name closest to `typed` among `names`: the nearest within an edit
// distance of k_max_job_hint_distance, else the shortest name `typed` is a
// prefix of (or that is a prefix of `typed`); nothing when none is.
std::optional<std::string> nearest_job(const std::string& typed,
                                       const std::vector<std::string>& names);
inline constexpr std::size_t k_max_job_hint_distance = 2;

// Connects to the bus chosen by --bus or STASIS_BUS_ADDRESS (default system);
// on failure reports it and returns nullptr.
std::unique_ptr<dbus::Client> connect_daemon(GlobalOptions& options);

// Connects to stasisd and makes one call; returns its value, or nothing after
// reporting why (no daemon, refused, not found, ...).
template <typename Call>
auto call_daemon(GlobalOptions& options, Call&& call)
    -> std::optional<typename std::invoke_result_t<Call, dbus::Client&>::value_type> {
  auto client = connect_daemon(options);
  if (!client) {
    return std::nullopt;
  }
  auto result = call(*client);
  if (!result) {
    report(result.error(), options);
    return std::nullopt;
  }
  return std::move(result).value();
}

// The same for calls that return nothing; true when the call succeeded.
template <typename Call>
bool call_daemon_void(GlobalOptions& options, Call&& call) {
  auto client = connect_daemon(options);
  if (!client) {
    return false;
  }
  if (auto result = call(*client); !result) {
    report(result.error(), options);
    return false;
  }
  return true;
}

// A checkpoint id as the user typed it, for the daemon: "latest" becomes the
// id of the job's newest checkpoint (NotFound "job 'X' has no checkpoints"
// when it has none); anything else is passed on as it is.
dbus::CResult<std::string>
resolve_checkpoint(dbus::Client& client, const std::string& job, const std::string& id);

// "2024-05-01 12:00:00" in local time, "-" for none.
std::string format_time(const std::optional<manager::TimePoint>& time);
// "1.5 GiB" etc.
std::string format_bytes(std::uint64_t bytes);
// A duration for people: "850 us", "62 ms", "1.4 s", "3 min 12 s".
std::string format_duration(std::uint64_t usec);
// True when stasisctl may draw with escape codes: standard output and error
// are terminals and TERM is set and not "dumb".
bool may_use_escape_codes();

// JSON objects of the daemon's values (keys in snake_case).
nlohmann::json to_json(const manager::JobInfo& job);
nlohmann::json to_json(const manager::RunInfo& run);
nlohmann::json to_json(const manager::Event& event);

// One line describing an event, as `stasisctl watch` prints it.
std::string describe(const manager::Event& event);

// For shell completion (`jobs --quiet`, `checkpoints --quiet`): connects
// only when stasisd already runs (a disabled, D-Bus-activatable stasisd is
// not started), prints no errors, and sets exit code 3 when it does not run.
// An empty list when anything fails.
std::vector<std::string> quiet_job_names(GlobalOptions& options);
std::vector<std::string> quiet_checkpoint_ids(GlobalOptions& options,
                                              const std::string& job);
inline constexpr const char* k_quiet_help =
    "Only the names, one a line; nothing (exit 3) when stasisd is not running, "
    "which is not started for this (for shell completion)";

// Registers checkpoint, restore and cancel (cmd_daemon_runs.cpp).
void register_daemon_run_commands(CLI::App& app, GlobalOptions& options);

} // namespace stasis::cli
