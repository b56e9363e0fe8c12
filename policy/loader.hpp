// Loading policies: YAML files -> a validated PolicySet, all or nothing.
//
// A policy directory holds *.yaml and *.yml files (not recursive, read in
// name order). Each file has `version: 1`, optional `defaults` (for the jobs
// of that file), optional `templates` (usable by jobs of every file) and a
// list of `jobs`. Any error anywhere means no PolicySet: the Diagnostics list
// every error of every file in one pass, sorted by file, line and column.
#pragma once

#include "policy/diagnostics.hpp"
#include "policy/model.hpp"
#include "util/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace stasis::policy {

// The directory stasisd reads by default.
inline constexpr const char* k_default_policy_dir = "/etc/stasis/policy.d";

// Loads every *.yaml/*.yml file of a directory.
Result<PolicySet, Diagnostics> load_policy_dir(const std::filesystem::path& directory);

// Loads the given files together (templates are shared, job names unique).
Result<PolicySet, Diagnostics>
load_policy_files(const std::vector<std::filesystem::path>& files);

// Loads files and directories together (directories are expanded as in
// load_policy_dir).
Result<PolicySet, Diagnostics>
load_policy_paths(const std::vector<std::filesystem::path>& paths);

// Parses one policy file given as text; `filename` is used in diagnostics.
Result<PolicySet, Diagnostics> parse_policy_text(std::string_view text,
                                                 const std::string& filename);

// One policy text and the name it is reported under.
struct PolicySource {
  std::string filename;
  std::string text;
};

// Parses several policy texts together (what the other loaders end in).
Result<PolicySet, Diagnostics>
parse_policy_sources(const std::vector<PolicySource>& sources);

} // namespace stasis::policy
