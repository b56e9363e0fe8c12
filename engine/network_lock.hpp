// When CRIU's network lock matters, so that it is skipped when it does not.
// A worker killed mid-dump leaves its lock behind (an nftables table
// "inet CRIU-<id>"), and every leftover table slows later locks down (three
// seconds of frozen time with 100 of them); skipping needless locks avoids both.
#pragma once

#include "engine/options.hpp"

namespace stasis::engine {

// A dump needs the lock when the tree has a network namespace of its own or
// established TCP connections are dumped (tcp_established).
bool dump_needs_network_lock(const DumpOptions& options);

// A restore needs it (to lift the dump's lock) when the images hold a
// network namespace or TCP streams, or tcp_established is set.
bool restore_needs_network_lock(const RestoreOptions& options);

} // namespace stasis::engine
