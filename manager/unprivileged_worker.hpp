// CRIU workers that run as a target's user: CRIU running as root cannot dump
// processes of other uids on hosts like ours (it lacks CAP_SYS_RESOURCE), but a
// worker running as the target's uid with CAP_CHECKPOINT_RESTORE and
// CAP_SYS_PTRACE (and DumpOptions::unprivileged) can. Root restores the images.
#pragma once

#include "engine/criu_client.hpp"
#include "manager/identity.hpp"

#include <filesystem>

namespace stasis::manager {

// A transport factory whose `criu swrk` worker drops to `identity` (keeping the
// checkpoint capabilities) right before the exec.
engine::TransportFactory unprivileged_workers(std::filesystem::path criu,
                                              UserIdentity identity);

// The identity of a uid: its passwd entry, or (no entry) the bare uid and gid.
UserIdentity identity_of(uid_t uid, gid_t gid);

} // namespace stasis::manager
