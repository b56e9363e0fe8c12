// The processes nearest to a process target that matches none, for its
// error: a target that names /usr/bin/python3 where the executable is
// /usr/bin/python3.11 (the end of a symlink chain) shows the process it
// meant.
#pragma once

#include "manager/process_table.hpp"
#include "policy/model.hpp"
#include "policy/pattern.hpp"

#include <optional>
#include <string>
#include <vector>

namespace stasis::manager {

// The most candidates an error lists.
inline constexpr std::size_t k_max_near_candidates = 5;

// Up to k_max_near_candidates processes ranked by how much of the target
// they meet: first by how many of its patterns match (a process that
// matches them all but runs as another user comes first), then by the
// length of the pattern's leading literal text (after `^`) that they share
// (anchored: from the start of the exe or command line; else anywhere). A
// process that matches no pattern must share two thirds of a literal. Each is
// listed as "pid N (exe EXE, uid U: start of the command line)", joined with
// "; "; "" when no process is near.
std::string near_candidates(const policy::ProcessTarget& target,
                            const policy::Pattern& exe, const policy::Pattern& cmdline,
                            std::optional<uid_t> uid,
                            const std::vector<ProcessEntry>& processes);

} // namespace stasis::manager
