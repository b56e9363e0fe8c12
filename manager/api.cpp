#include "manager/api.hpp"

namespace stasis::manager {

std::string to_string(RunKind kind) {
  switch (kind) {
  case RunKind::Checkpoint:
    return "checkpoint";
  case RunKind::Restore:
    return "restore";
  case RunKind::Push:
    return "push";
  case RunKind::Pull:
    return "pull";
  case RunKind::Export:
    return "export";
  case RunKind::Import:
    return "import";
  }
  return "unknown";
}

std::string to_string(RunState state) {
  switch (state) {
  case RunState::Queued:
    return "queued";
  case RunState::Running:
    return "running";
  case RunState::Succeeded:
    return "succeeded";
  case RunState::Failed:
    return "failed";
  case RunState::Cancelled:
    return "cancelled";
  case RunState::Skipped:
    return "skipped";
  case RunState::Interrupted:
    return "interrupted";
  }
  return "unknown";
}

} // namespace stasis::manager
