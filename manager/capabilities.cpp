#include "manager/capabilities.hpp"

#include <sys/capability.h>

namespace stasis::manager {
namespace {

bool effective(cap_t caps, cap_value_t cap) {
  cap_flag_value_t value = CAP_CLEAR;
  return cap_get_flag(caps, cap, CAP_EFFECTIVE, &value) == 0 && value == CAP_SET;
}

} // namespace

EffectiveCapabilities read_effective_capabilities() {
  EffectiveCapabilities present;
  cap_t caps = cap_get_proc();
  if (caps == nullptr) {
    return present;
  }
  present.checkpoint_restore = effective(caps, CAP_CHECKPOINT_RESTORE);
  present.sys_admin = effective(caps, CAP_SYS_ADMIN);
  present.sys_ptrace = effective(caps, CAP_SYS_PTRACE);
  cap_free(caps);
  return present;
}

CapabilityReport assess_capabilities(const EffectiveCapabilities& present) {
  CapabilityReport report{present, {}};
  if (!present.checkpoint_restore && !present.sys_admin) {
    report.problems.push_back(
        "stasisd lacks CAP_CHECKPOINT_RESTORE (and CAP_SYS_ADMIN): CRIU cannot dump or "
        "restore; run it as root with CapabilityBoundingSet= including "
        "CAP_CHECKPOINT_RESTORE");
  }
  if (!present.sys_ptrace) {
    report.problems.push_back("stasisd lacks CAP_SYS_PTRACE: CRIU cannot seize "
                              "processes; add CAP_SYS_PTRACE to "
                              "the unit's CapabilityBoundingSet=");
  }
  return report;
}

CapabilityReport check_daemon_capabilities() {
  return assess_capabilities(read_effective_capabilities());
}

} // namespace stasis::manager
