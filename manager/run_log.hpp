// CRIU's logs of a run, as `stasisctl log RUN` shows them (GetRunLog).
//
// A run's logs live in <state>/logs/<run>/ (store/run_dirs.hpp); stasisd keeps
// them when the run fails. A dump or restore with a user's rights wrote them
// into a directory that user owns, so they are read like a user's files: the
// directory and each file opened without following symlinks, regular files
// only, with one link, owned by the directory's owner (or root), each read up
// to a bound.
#pragma once

#include "util/result.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace stasis::manager {

// How many bytes of each log file are shown (its end), and how many files.
inline constexpr std::size_t k_max_run_log_bytes = 1024 * 1024;
inline constexpr std::size_t k_max_run_log_files = 16;

// The *.log files of dir, by name, each after a "==> NAME <==" line; a file
// longer than k_max_run_log_bytes shows its end after a line saying so.
// Nothing when dir does not exist (the run kept no log).
Result<std::optional<std::string>> read_run_logs(const std::filesystem::path& dir);

} // namespace stasis::manager
