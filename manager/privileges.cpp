#include "manager/privileges.hpp"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace stasis::manager {
namespace {

Unexpected<Error> errno_error(const char* what) {
  return make_error("{} failed: {}", what, std::strerror(errno));
}

// Drops every capability not in keep from the bounding set (needs CAP_SETPCAP).
Result<void> drop_bounding_except(const cap_value_t* keep, std::size_t keep_count) {
  const cap_value_t last = cap_max_bits();
  for (cap_value_t cap = 0; cap < last; ++cap) {
    bool kept = false;
    for (std::size_t i = 0; i < keep_count; ++i) {
      kept = kept || keep[i] == cap;
    }
    if (!kept && CAP_IS_SUPPORTED(cap) && cap_drop_bound(cap) != 0) {
      return errno_error("dropping a capability from the bounding set");
    }
  }
  return ok();
}

Result<void> switch_ids(const UserIdentity& identity) {
  if (setgroups(identity.groups.size(), identity.groups.data()) != 0) {
    return errno_error("setgroups");
  }
  if (setresgid(identity.gid, identity.gid, identity.gid) != 0) {
    return errno_error("setresgid");
  }
  if (setresuid(identity.uid, identity.uid, identity.uid) != 0) {
    return errno_error("setresuid");
  }
  return ok();
}

} // namespace

WorkerCapabilities policy_dump_worker_caps() {
  return {{CAP_CHECKPOINT_RESTORE, CAP_SYS_PTRACE}, true};
}

WorkerCapabilities user_dump_worker_caps() {
  return {{CAP_CHECKPOINT_RESTORE}, true};
}

WorkerCapabilities restore_worker_caps(bool setpcap) {
  WorkerCapabilities caps{{CAP_CHECKPOINT_RESTORE}, false};
  if (setpcap) {
    caps.caps.push_back(CAP_SETPCAP);
  }
  return caps;
}

Result<void> drop_to_user_keep_caps(const UserIdentity& identity,
                                    const WorkerCapabilities& keep) {
  std::vector<cap_value_t> caps(keep.caps.begin(), keep.caps.end());
  if (keep.trim_bounding_set) {
    STASIS_TRY(drop_bounding_except(caps.data(), caps.size()));
  }
  if (cap_reset_ambient() != 0) {
    return errno_error("clearing the ambient capabilities");
  }
  // Keep the permitted set across the uid change; the effective set is cleared.
  if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0) {
    return errno_error("prctl(PR_SET_KEEPCAPS)");
  }
  STASIS_TRY(switch_ids(identity));
  if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) != 0) {
    return errno_error("prctl(PR_SET_KEEPCAPS)");
  }
  cap_t set = cap_init();
  if (set == nullptr) {
    return errno_error("cap_init");
  }
  if (!caps.empty()) {
    for (cap_flag_t flag : {CAP_PERMITTED, CAP_INHERITABLE, CAP_EFFECTIVE}) {
      cap_set_flag(set, flag, static_cast<int>(caps.size()), caps.data(), CAP_SET);
    }
  }
  int rc = cap_set_proc(set);
  cap_free(set);
  if (rc != 0) {
    return errno_error("cap_set_proc");
  }
  // Ambient capabilities survive exec of a file without file capabilities.
  for (cap_value_t cap : caps) {
    if (cap_set_ambient(cap, CAP_SET) != 0) {
      return errno_error("raising an ambient capability");
    }
  }
  return ok();
}

Result<void> drop_to_user_keep_checkpoint_caps(const UserIdentity& identity) {
  return drop_to_user_keep_caps(identity, policy_dump_worker_caps());
}

Result<void> drop_to_user_keep_checkpoint_caps(uid_t uid, gid_t gid) {
  auto identity = lookup_uid(uid);
  if (!identity) {
    // A uid without a passwd entry still works: no supplementary groups.
    identity = UserIdentity{"", uid, gid, {gid}};
  }
  identity->gid = gid;
  return drop_to_user_keep_checkpoint_caps(*identity);
}

Result<void> drop_to_user_without_caps(const UserIdentity& identity) {
  STASIS_TRY(drop_bounding_except(nullptr, 0));
  if (cap_reset_ambient() != 0) {
    return errno_error("clearing the ambient capabilities");
  }
  STASIS_TRY(switch_ids(identity));
  cap_t caps = cap_init();
  if (caps == nullptr) {
    return errno_error("cap_init");
  }
  int rc = cap_set_proc(caps);
  cap_free(caps);
  if (rc != 0) {
    return errno_error("cap_set_proc");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) {
    return errno_error("prctl(PR_SET_NO_NEW_PRIVS)");
  }
  return ok();
}

} // namespace stasis::manager
