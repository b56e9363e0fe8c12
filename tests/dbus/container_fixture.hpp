// The container tier of the daemon tests: a busybox counter in a runc, LXC or
// podman container, checkpointed and restored through stasisd with the job of
// the matching example policy (examples/<runtime>-container.yaml, ids and
// paths rewritten to the test's).
//
// The counter is `sh` appending 1, 2, 3, ... to /data/counter (a host
// directory bind-mounted into the container) every 100 ms. A restore proves
// itself when the numbers written after it continue the sequence from the
// value the checkpoint saw: no restart from 1, no gap.
#pragma once

#include "manager/container_command.hpp"
#include "tests/dbus/daemon_fixture.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace stasis::test {

// The counter loop the containers run (with busybox sh).
inline constexpr const char* k_counter_script =
    "i=0; while true; do i=$((i+1)); echo $i >> /data/counter; sleep 0.1; done";

// Runs a runtime command as root and returns how it ended (output captured;
// or discarded for commands whose detached children keep stdio).
manager::ContainerCommandResult run_tool(const std::vector<std::string>& argv,
                                         bool discard_output = false);

// The last number of a counter's values (0 when there is none).
long last_or_zero(const std::vector<long>& values);

// Makes a minimal root file system: /bin/busybox (static) with sh and sleep
// links, and empty proc, dev, sys, tmp and data directories.
void make_busybox_rootfs(const std::filesystem::path& rootfs);

// Runs a function when it goes out of scope (container clean-up that also
// runs when an ASSERT ends the test early).
class Cleanup {
public:
  explicit Cleanup(std::function<void()> work) : m_work(std::move(work)) {}
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;
  ~Cleanup() {
    if (m_work) {
      m_work();
    }
  }

private:
  std::function<void()> m_work;
};

class ContainerTest : public DaemonTest {
protected:
  ContainerTest();

  // The host directory bind-mounted at /data in the container.
  std::filesystem::path data_dir() const { return dir() / "data"; }
  // The numbers the counter wrote so far.
  std::vector<long> counter() const;
  // Waits until the counter wrote at least `lines` numbers; false on timeout.
  bool wait_for_lines(std::size_t lines, std::chrono::milliseconds timeout) const;

  // Copies examples/<example> into the policy directory (0644), replacing each
  // first string with the second.
  void install_example(const std::string& example,
                       const std::vector<std::pair<std::string, std::string>>& rewrites);

  // The whole proof, given the runtime's part: the container is running and
  // counting; checkpoint `job` through stasisd (the run's pid must be
  // `init_pid()`), stored, verified and exported (stasisctl export); `stop()` kills and
  // removes the container (the counter must stop); restore through stasisd; the counter
  // continues from the checkpoint without a gap and `init_pid()` is the
  // restored pid.
  void checkpoint_kill_restore(const std::string& job,
                               const std::function<pid_t()>& init_pid,
                               const std::function<void()>& stop);
};

} // namespace stasis::test
