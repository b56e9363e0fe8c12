// A process pinned when a caller names it by pid: a pidfd and its start time.
//
// A pid is only a number: between a CheckpointProcess call and its dump the
// process can exit and its pid go to another process (say, one of root's).
// The pin refers to the process itself, so the run can tell before the dump,
// and again while CRIU holds the tree frozen, whether it still has the process
// it was asked for.
#pragma once

#include "util/result.hpp"
#include "util/unique_fd.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <sys/types.h>

namespace stasis::manager {

class PinnedProcess {
public:
  // Pins pid now; fails when there is no such process.
  static Result<PinnedProcess> pin(pid_t pid);

  pid_t pid() const { return m_pid; }

  // Succeeds while the pinned process itself lives (its pid was not reused):
  // the pidfd still names a live process and /proc/PID shows its start time.
  Result<void> check_same() const;

private:
  PinnedProcess(pid_t pid, std::shared_ptr<util::UniqueFd> fd, std::uint64_t start)
      : m_pid(pid), m_fd(std::move(fd)), m_start(start) {}

  pid_t m_pid = 0;
  std::shared_ptr<util::UniqueFd> m_fd; // shared: runs copy their requests
  std::uint64_t m_start = 0;            // /proc/PID/stat field 22, in clock ticks
};

// The start time of a process (field 22 of /proc/PID/stat), if it exists.
std::optional<std::uint64_t> process_start_time(pid_t pid);

} // namespace stasis::manager
