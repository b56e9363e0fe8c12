// Starting, checking and cleaning up the self-checking workloads
// (tests/workloads/) from e2e tests and benchmarks. Including this header gives
// the whole test-support library: Workload, SubreaperScope, TempDir and the
// process helpers.
//
// A workload is started with setsid() so it is its own session and process group
// leader; it writes <dir>/status every interval and answers SIGUSR1 (verify),
// SIGUSR2 (mutation step) and SIGTERM (clean exit). See
// tests/workloads/workload_common.hpp for the status keys.
#pragma once

#include "tests/support/process.hpp"
#include "tests/support/subreaper.hpp"
#include "tests/support/temp_dir.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace stasis::test {

// Path of a built workload binary: <STASIS_BINARY_DIR>/tests/workloads/<name>,
// e.g. workload_binary("stasis-wl-memory").
std::filesystem::path workload_binary(std::string_view name);

// One running workload process. Movable, not copyable; the destructor kills it.
class Workload {
public:
  // Forks; the child calls setsid(), puts stdio on /dev/null, chdir(dir), closes
  // other fds and execs the binary with args + {"--status", dir/"status"}. Waits
  // until the first status file appears (10 s, else throws std::runtime_error
  // naming the binary). dir is created if missing; an old status file is removed.
  static Workload start(std::string_view name, std::vector<std::string> args,
                        std::filesystem::path dir);

  Workload(Workload&& other) noexcept;
  Workload& operator=(Workload&& other) noexcept;
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;
  // SIGKILLs the current pid (and its process group) if alive, reaps it if it is
  // our child and waits until it is gone.
  ~Workload();

  pid_t pid() const { return m_pid; }
  const std::filesystem::path& dir() const { return m_dir; }
  std::filesystem::path status_file() const { return m_dir / "status"; }

  // The parsed status file (empty map if unreadable, reset or not yet written).
  std::map<std::string, std::string> status() const;
  // Blanks the status file so that a stale status of an earlier incarnation does
  // not answer for a restored one. Keeps the file (and its size): the restored
  // process may have been dumped while it held the file open.
  void reset_status() const;
  // status()["ticks"], or 0.
  std::uint64_t ticks() const;
  // A numeric status key, or 0 if missing or not a number.
  std::uint64_t status_number(const std::string& key) const;
  // Waits until ticks() >= at_least; false on timeout or if the process is gone.
  bool wait_for_ticks(std::uint64_t at_least, std::chrono::milliseconds timeout) const;

  // Sends SIGUSR1 and waits until `verified` increases; returns "" on check=pass,
  // else the detail or the reason (timeout, process gone, ...).
  std::string verify(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Sends SIGUSR2 and waits until `steps` increases (10 s); throws
  // std::runtime_error if it does not.
  void step() const;

  // After a restore: the process now lives under pid (usually the same) and is no
  // longer our child.
  void adopt(pid_t pid);
  // True if /proc/<pid> exists and is not a zombie.
  bool alive() const;
  // Reaps the original child after CRIU killed it on dump (waitpid if it is our
  // child) and returns once /proc/<pid> is gone entirely, so the pid is free for a
  // restore; throws std::runtime_error after 10 s.
  void reap_after_dump();
  // Sends SIGTERM and waits (bounded) until the process is gone; returns its exit
  // code if we reaped it ourselves, else -1 (not our child, or reaped elsewhere).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(5));

private:
  Workload(std::string name, pid_t pid, std::filesystem::path dir);
  // Reaps our pid if it is a zombie child of ours; returns its wait status if reaped.
  int try_reap();
  void kill_and_reap() noexcept;
  // Marks m_pid as no longer our unreaped child (and ends its reaper claim).
  void forget_child();

  std::string m_name;
  pid_t m_pid = -1;
  // True while m_pid is a child we forked that has not been reaped yet.
  bool m_is_child = false;
  std::filesystem::path m_dir;
};

} // namespace stasis::test
