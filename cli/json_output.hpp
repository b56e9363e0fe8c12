// The JSON objects stasisctl prints with --json (stasisctl(1), JSON OUTPUT):
// one schema per object, whether the data came from stasisd or from a state
// dir opened with --state-dir. Conventions: ids (checkpoints, runs) are
// strings; sizes are integer bytes in fields ending in _bytes; durations are
// integer microseconds in fields ending in _usec; times are RFC 3339 UTC
// strings; what is not known or does not exist is null.
#pragma once

#include "manager/api.hpp"
#include "store/types.hpp"

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stasis::cli {

// RFC 3339 UTC ("2024-05-01T10:00:00Z"), null for none.
nlohmann::json json_time(const std::optional<manager::TimePoint>& time);
// An id, or null when it is empty (no checkpoint, no previous one).
nlohmann::json json_id(const std::string& id);

// The checkpoint object of `checkpoints`, `show` and pull/import.
nlohmann::json checkpoint_json(const std::string& job,
                               const manager::CheckpointInfo& checkpoint);
// A stored checkpoint as stasisd lists it (CheckpointInfo), so that
// --state-dir prints the same object.
manager::CheckpointInfo checkpoint_info(const store::CheckpointSummary& summary);

// The store's garbage collection: {packs_deleted, packs_repacked, freed_bytes}.
nlohmann::json gc_json(std::uint64_t packs_deleted, std::uint64_t packs_repacked,
                       std::uint64_t freed_bytes);

// One decision of prune: keep or delete a checkpoint, and why.
struct PruneDecision {
  std::string id;
  bool keep = true;
  std::vector<std::string> reasons;
  std::string job; // a renamed job's former name; "" = the job pruned
};

// Parses one line of stasisd's Prune answer, "ID: keep|delete (REASON, ...)"
// or "FORMER-NAME/ID: ..." (reasons may hold ", " inside parentheses);
// nothing when it is not one.
std::optional<PruneDecision> parse_prune_line(const std::string& line);
// The decisions of a store prune, ids as strings.
std::vector<PruneDecision> prune_decisions(const std::vector<store::PruneDecision>& d);
// {"job", "id", "decision": "keep"|"delete", "reasons": [...]}; job is the
// decision's own or else the given one.
nlohmann::json prune_decision_json(const PruneDecision& decision, const std::string& job);
// The prune object: {job, dry_run, decisions, deleted, gc}; gc may be null.
nlohmann::json prune_json(const std::string& job, bool dry_run,
                          const std::vector<PruneDecision>& decisions,
                          const nlohmann::json& gc);

// What `engine` (asked here, as root) and `engine-info` (asked of stasisd)
// know about the CRIU in use; errors are kept where the value would be.
struct EngineReport {
  struct Feature {
    bool available = false;
    std::string reason; // why not, when known
  };
  std::string kernel; // "Linux 6.1.0 x86_64"
  std::string criu_path;
  std::string criu_version;
  std::string criu_error; // not found, or its version could not be read
  // `criu check`: run by `engine` only (nothing for engine-info).
  std::optional<bool> check_ok;
  std::string check_error;
  std::optional<Feature> mem_track;
  std::optional<Feature> lazy_pages;
  std::string features_error;
};

// The engine object both commands print.
nlohmann::json engine_json(const EngineReport& report);
// What stasisd said of its engine (EngineInfo) as a report.
EngineReport engine_report(const manager::EngineInfo& info);

// Prometheus text (as `metrics` gets it) as JSON: {"metrics": [{"name",
// "labels": {..}, "value"}]}; comment and blank lines are left out.
nlohmann::json metrics_json(const std::string& text);

} // namespace stasis::cli
