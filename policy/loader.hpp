// Loading policies: YAML files -> a validated PolicySet, all or nothing.
//
// A policy directory holds *.yaml and *.yml files (not recursive, read in
// name order). Each file has `version: 1`, optional `defaults` (for the jobs
// of that file), optional `templates` (usable by jobs of every file) and a
// list of `jobs`. Any error anywhere means no PolicySet: the Diagnostics list
// every error of every file in one pass, sorted by file, line and column.
//
// Each directory and file is opened once and read from that descriptor, its
// size checked first (k_max_policy_file_size). Given a rule (stasisd's: the
// hooks of root's policies run as root), the loaders open every path by
// walking it (util/path_walk.hpp) and show the rule each directory, symlink
// and file on the way; a refused file is reported with the other files'
// diagnostics and fails the load.
#pragma once

#include "policy/diagnostics.hpp"
#include "policy/model.hpp"
#include "util/path_walk.hpp"
#include "util/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace stasis::policy {

// The directory stasisd reads by default.
inline constexpr const char* k_default_policy_dir = "/etc/stasis/policy.d";

// The largest policy file read (checked on the descriptor before reading).
inline constexpr std::size_t k_max_policy_file_size = 1 << 20;

// Job names starting with this are reserved for the ad-hoc jobs of
// CheckpointProcess ("user-<uid>").
inline constexpr std::string_view k_reserved_job_prefix = "user-";

// Loads every *.yaml/*.yml file of a directory. Without a rule, symlinks are
// followed as usual (stasisctl validate).
Result<PolicySet, Diagnostics> load_policy_dir(const std::filesystem::path& directory,
                                               const util::StepCheck& rule = {});

// Loads the given files together (templates are shared, job names unique).
Result<PolicySet, Diagnostics>
load_policy_files(const std::vector<std::filesystem::path>& files,
                  const util::StepCheck& rule = {});

// Loads files and directories together (directories are expanded as in
// load_policy_dir).
Result<PolicySet, Diagnostics>
load_policy_paths(const std::vector<std::filesystem::path>& paths,
                  const util::StepCheck& rule = {});

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
