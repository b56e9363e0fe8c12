// Internal: turning a job's effective canonical JSON into value types, and
// the checks that span several keys.
#pragma once

#include "policy/diagnostics.hpp"
#include "policy/model.hpp"
#include "policy/yaml_walker.hpp"

#include <nlohmann/json.hpp>

namespace stasis::policy::detail {

// Reports errors of one job at the locations its keys were written.
class JobContext {
public:
  JobContext(const LocationMap& locations, Diagnostics& diagnostics)
      : m_locations(locations), m_diagnostics(diagnostics) {}

  // Adds an error at the key `path` (or its nearest written ancestor).
  void error(const std::string& path, std::string message);
  // True when the user wrote `path` (in the job, a template or the defaults).
  bool written(const std::string& path) const { return m_locations.contains(path); }
  // Returns where `path` was written.
  SourceLocation where(const std::string& path) const;

private:
  const LocationMap& m_locations;
  Diagnostics& m_diagnostics;
};

// The string at key (empty when absent) and the list of strings at key (empty
// when absent) of a canonical JSON object.
std::string text(const nlohmann::json& object, const char* key);
std::vector<std::string> strings(const nlohmann::json& object, const char* key);

Target build_target(const nlohmann::json& target);
CriuSettings build_criu(const nlohmann::json& criu, bool scheduled);
RestoreSettings build_restore(const nlohmann::json& restore);
Schedule build_schedule(const nlohmann::json& schedule, JobContext& context);
IncrementalSettings build_incremental(const nlohmann::json& incremental);
ReplicateSettings build_replicate(const nlohmann::json& replicate);
RetentionRules build_retention(const nlohmann::json& retention);
Hooks build_hooks(const nlohmann::json& hooks, JobContext& context);
Access build_access(const nlohmann::json& access);

// Checks rules that involve several keys (conflicts, prerequisites).
void check_job(const Job& job, const nlohmann::json& effective, JobContext& context);

// Parses a canonical duration (the walker already validated it).
std::chrono::milliseconds duration_of(const nlohmann::json& value);

} // namespace stasis::policy::detail
