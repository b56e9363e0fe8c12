// Who runs CRIU for a checkpoint: root, the target's user or the caller.
//
// The rule (docs/stasis.policy.5.adoc, "WHOSE RIGHTS A RUN USES"):
// - a user's own process (CheckpointProcess by a caller other than root): a
//   worker with her uid and only CAP_CHECKPOINT_RESTORE, whatever else holds;
// - a process that runs as root, or a container (its runtime runs CRIU):
//   root;
// - root's ad-hoc checkpoint of a user's process: the target's uid with
//   CAP_CHECKPOINT_RESTORE and CAP_SYS_PTRACE (ad-hoc jobs have no policy);
// - root's policy job of a user's process: criu.dump-as decides. root and
//   target-user are taken as written; auto is root when root CRIU can dump
//   another uid's process, and the target's uid otherwise.
//
// Root CRIU reads the target's resource limits with prlimit(), which the
// kernel refuses across uids without CAP_SYS_RESOURCE ("Can't get rlimit").
// So "root CRIU can dump another uid's process" is decided, without trying,
// by whether stasisd holds CAP_SYS_RESOURCE in its bounding set (what an
// exec'd root CRIU can have) and its effective set.
#pragma once

#include "policy/model.hpp"

#include <sys/types.h>

namespace stasis::manager {

// Whose rights the CRIU of a dump runs with.
enum class DumpWorker {
  Root,       // CRIU as root, stasisd's rights
  TargetUser, // the target's uid, CAP_CHECKPOINT_RESTORE + CAP_SYS_PTRACE
  Caller,     // the ad-hoc caller's uid, CAP_CHECKPOINT_RESTORE only
};

// What the choice depends on besides criu.dump-as.
struct DumpWorkerFacts {
  // An ad-hoc checkpoint (CheckpointProcess), and who asked for it.
  bool adhoc = false;
  uid_t caller = 0;
  // The uid the target process runs as.
  uid_t target_uid = 0;
  // A container target: its runtime runs CRIU.
  bool container = false;
  // stasisd holds CAP_SYS_RESOURCE (bounding and effective sets).
  bool root_dumps_other_uids = false;
};

// Chooses the worker of a dump (the rule above); a pure function.
DumpWorker choose_dump_worker(policy::DumpAs dump_as, const DumpWorkerFacts& facts);

// Whether stasisd's own capabilities let root CRIU dump another uid's
// process: CAP_SYS_RESOURCE in the bounding set and the effective set.
bool root_dumps_other_uids();

// "root", "the target's user", "the caller" (for logs and errors).
const char* to_string(DumpWorker worker);

} // namespace stasis::manager
