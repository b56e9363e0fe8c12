// Checks a YAML tree against the key table (keys.hpp) and converts it into
// canonical JSON: durations in canonical form, sizes in bytes, calendar
// expressions normalized, single names turned into lists. Every problem
// becomes a Diagnostic; the walk carries on to report all of them.
#pragma once

#include "policy/diagnostics.hpp"
#include "policy/keys.hpp"

#include <map>
#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace stasis::policy {

// Where a value came from.
struct Location {
  std::string file;
  int line = 0;   // 1-based
  int column = 0; // 1-based
};

// Locations of the keys of one job, by dotted path ("criu.leave-running",
// "hooks.pre-dump[0].run").
using LocationMap = std::map<std::string, Location>;

// Returns the location of `path` or of its nearest recorded ancestor.
Location locate(const LocationMap& locations, std::string path);

// Walks YAML nodes of one file.
class YamlWalker {
public:
  YamlWalker(std::string file, Diagnostics& diagnostics)
      : m_file(std::move(file)), m_diagnostics(diagnostics) {}

  // Validates `node` against `spec`. `path` names the value in messages and in
  // `locations`. Returns the canonical JSON (null for an invalid value).
  nlohmann::json walk(const YAML::Node& node, const ValueSpec& spec,
                      const std::string& path, LocationMap& locations);

  // Returns the 1-based location of a node (the fallback when it has none).
  Location location(const YAML::Node& node, const Location& fallback = {}) const;

  // Adds a diagnostic at a node.
  void error(const YAML::Node& node, std::string message);
  // Adds a diagnostic at a location.
  void error(const Location& location, std::string message);

  // Returns the keys of a mapping in order, reporting duplicate and non-scalar
  // keys (yaml-cpp keeps duplicates silently). `what` names the mapping.
  std::vector<std::pair<YAML::Node, YAML::Node>> entries(const YAML::Node& mapping,
                                                         const std::string& what);

  const std::string& file() const { return m_file; }

  // Names the value at the empty path in messages ("job 'web'", "template 'x'").
  void set_root_name(std::string name) { m_root_name = std::move(name); }

private:
  nlohmann::json walk_scalar(const YAML::Node& node, const ValueSpec& spec,
                             const std::string& path);
  nlohmann::json walk_section(const YAML::Node& node, const ValueSpec& spec,
                              const std::string& path, LocationMap& locations);
  nlohmann::json walk_list(const YAML::Node& node, const ValueSpec& spec,
                           const std::string& path, LocationMap& locations);
  nlohmann::json walk_map(const YAML::Node& node, const ValueSpec& spec,
                          const std::string& path, LocationMap& locations);
  nlohmann::json walk_argv(const YAML::Node& node, const std::string& path);

  std::string m_file;
  Diagnostics& m_diagnostics;
  std::string m_root_name = "the job";
  // Values left to walk: aliases can make a small file a huge tree.
  std::size_t m_budget = 50000;
  bool m_budget_reported = false;
};

// Describes a node's type for messages: "a mapping", "a list", "nothing", "'text'".
std::string describe_node(const YAML::Node& node);

// Returns the dotted path of a key below `parent`.
std::string child_path(const std::string& parent, const std::string& key);

} // namespace stasis::policy
