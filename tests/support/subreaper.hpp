// Makes the test process a child subreaper so restored orphans come back to us.
#pragma once

#include <sys/types.h>

namespace stasis::test {

// RAII: makes the calling process a child subreaper (PR_SET_CHILD_SUBREAPER) so
// processes restored by `criu restore -d` (and their orphans) are reparented to us
// and reaped promptly by a background thread (~20 ms) instead of by this machine's
// slow PID 1; restores the previous setting when the last scope ends. Scopes nest.
//
// The thread only reaps zombie children in ANOTHER session than ours: workloads
// (and everything restored from them) are session leaders, while children that code
// under test forks itself (criu swrk, run_command) stay in our session and remain
// for their own waitpid(). Children a Workload forked are claimed (claim_child) and
// left for the Workload to reap, so it sees their exit status.
class SubreaperScope {
public:
  SubreaperScope();
  SubreaperScope(const SubreaperScope&) = delete;
  SubreaperScope& operator=(const SubreaperScope&) = delete;
  ~SubreaperScope();
};

// Marks pid as a child whose owner reaps it itself: the reaper thread leaves it.
void claim_child(pid_t pid);
// Ends a claim_child() (after the owner reaped or gave up the pid).
void release_child(pid_t pid);

// Reaps, once, every unclaimed zombie child of ours in another session; returns
// how many. The SubreaperScope thread calls this; tests may too.
int reap_foreign_zombies();

} // namespace stasis::test
