// The capabilities stasisd needs, checked once at start.
#pragma once

#include <string>
#include <vector>

namespace stasis::manager {

// Which of the needed capabilities are in an effective set.
struct EffectiveCapabilities {
  bool checkpoint_restore = false; // CAP_CHECKPOINT_RESTORE
  bool sys_admin = false;          // CAP_SYS_ADMIN (older kernels' stand-in)
  bool sys_ptrace = false;         // CAP_SYS_PTRACE
};

// The verdict with one sentence per missing capability.
struct CapabilityReport {
  EffectiveCapabilities present;
  std::vector<std::string> problems;

  bool sufficient() const { return problems.empty(); }
};

// Reads the effective set of the calling thread (libcap).
EffectiveCapabilities read_effective_capabilities();

// Judges a set: CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN, and CAP_SYS_PTRACE.
CapabilityReport assess_capabilities(const EffectiveCapabilities& present);

// read_effective_capabilities() then assess_capabilities().
CapabilityReport check_daemon_capabilities();

} // namespace stasis::manager
