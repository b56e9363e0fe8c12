// CRIU workers that run as a user: a dump of a non-root target and every
// restore of a non-root tree run CRIU with that user's uid, gid and groups and
// only the capabilities the kind of worker needs (privileges.hpp), with CRIU's
// `unprivileged` mode. CRIU then opens files, connects sockets and seizes
// processes with the user's rights, not root's.
#pragma once

#include "engine/criu_client.hpp"
#include "manager/identity.hpp"
#include "manager/privileges.hpp"

#include <filesystem>

namespace stasis::manager {

// A transport factory whose `criu swrk` worker drops to `identity`, keeping
// `caps`, right before the exec.
engine::TransportFactory unprivileged_workers(std::filesystem::path criu,
                                              UserIdentity identity,
                                              WorkerCapabilities caps);

// The identity of a uid: its passwd entry, or (no entry) the bare uid and gid.
UserIdentity identity_of(uid_t uid, gid_t gid);

} // namespace stasis::manager
