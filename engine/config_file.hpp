// CRIU options that its RPC has no field for (e.g. --no-ghost-fiemap) reach
// CRIU through a configuration file that the request names (config_file).
#pragma once

#include "engine/criu_rpc.pb.h"
#include "engine/options.hpp"
#include "util/result.hpp"

#include <string>
#include <string_view>

namespace stasis::engine {

// The file's name in a run's work dir.
inline constexpr std::string_view k_options_config_name = "criu-options.conf";

// The configuration lines (CRIU's long option names, one per line) of the
// dump options that have no RPC field; "" when there are none.
std::string config_lines(const DumpOptions& options);

// Writes `lines` into the work dir (through its descriptor, never following a
// link) and names the file in `opts` as seen by a worker that inherits the
// descriptor at the same number. Nothing when `lines` is empty.
Result<void> attach_config(int work_dir_fd, std::string_view lines, wire::Options& opts);

} // namespace stasis::engine
