#include "manager/dump_worker.hpp"

#include <sys/capability.h>

namespace stasis::manager {

DumpWorker choose_dump_worker(policy::DumpAs dump_as, const DumpWorkerFacts& facts) {
  if (facts.adhoc && facts.caller != 0) {
    return DumpWorker::Caller;
  }
  if (facts.container || facts.target_uid == 0) {
    return DumpWorker::Root;
  }
  if (facts.adhoc) {
    return DumpWorker::TargetUser;
  }
  switch (dump_as) {
  case policy::DumpAs::Root:
    return DumpWorker::Root;
  case policy::DumpAs::TargetUser:
    return DumpWorker::TargetUser;
  case policy::DumpAs::Auto:
    break;
  }
  return facts.root_dumps_other_uids ? DumpWorker::Root : DumpWorker::TargetUser;
}

bool root_dumps_other_uids() {
  if (cap_get_bound(CAP_SYS_RESOURCE) != 1) {
    return false;
  }
  cap_t caps = cap_get_proc();
  if (caps == nullptr) {
    return false;
  }
  cap_flag_value_t value = CAP_CLEAR;
  const bool effective =
      cap_get_flag(caps, CAP_SYS_RESOURCE, CAP_EFFECTIVE, &value) == 0 &&
      value == CAP_SET;
  cap_free(caps);
  return effective;
}

const char* to_string(DumpWorker worker) {
  switch (worker) {
  case DumpWorker::Root:
    return "root";
  case DumpWorker::TargetUser:
    return "the target's user";
  case DumpWorker::Caller:
    return "the caller";
  }
  return "?";
}

} // namespace stasis::manager
