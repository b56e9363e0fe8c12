// Mapping of DumpOptions/RestoreOptions onto CRIU's wire options.
#pragma once

#include "engine/criu_rpc.pb.h"
#include "engine/options.hpp"

namespace stasis::engine {

// Fills every field the options set, except the directory descriptors and
// notify_scripts, which belong to the request being sent. The log file name
// defaults to `default_log` when the options leave it empty.
void to_wire(const DumpOptions& options, std::string_view default_log,
             wire::Options& out);
void to_wire(const RestoreOptions& options, std::string_view default_log,
             wire::Options& out);

wire::CgroupMode to_wire(CgroupMode mode);
wire::NetworkLockMethod to_wire(NetworkLock lock);

} // namespace stasis::engine
