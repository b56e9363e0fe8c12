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

// The most former names (`formerly`) one job may list.
inline constexpr std::size_t k_max_former_names = 16;

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

// What a lenient load of a directory keeps: the jobs of every file that
// loads, and each file that does not with its diagnostics. stasisd starts
// (and reloads) with this, so that one bad file does not stop every job.
struct PartialPolicyLoad {
  PolicySet set;
  // The files left out (as the diagnostics name them), in name order.
  std::vector<std::string> bad_files;
  // Every problem of the files left out ("file:line:col: message"), sorted.
  Diagnostics problems;
};

// Loads a directory like load_policy_dir, but leaves out each file that
// cannot be read, is refused by the rule, or has errors, and loads the others
// together; a file that fails only because of one left out (a template it
// uses) is left out too. A directory that cannot be opened leaves out
// everything (its diagnostic names the directory).
PartialPolicyLoad load_policy_dir_leniently(const std::filesystem::path& directory,
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
