// Real local users for the tests that play a second user (or an attacker):
// made with useradd for one test and removed with userdel when it ends, and
// processes started as them.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace stasis::test {

// A system user that exists for the test only. Name it after the test
// ("stasis-t-<what>", at most 25 characters); the test process's pid is
// appended (name()), so tests running at the same time never share one.
class TestUser {
public:
  explicit TestUser(std::string name);
  ~TestUser();
  TestUser(const TestUser&) = delete;
  TestUser& operator=(const TestUser&) = delete;

  const std::string& name() const { return m_name; }
  uid_t uid() const { return m_uid; }
  gid_t gid() const { return m_gid; }

private:
  std::string m_name;
  uid_t m_uid = 0;
  gid_t m_gid = 0;
};

// Copies a workload binary (tests/workloads) into dir, owned by the user and
// reachable by them (the build dir may sit where only root may go, as in a
// checkout under /root); returns the copy's path.
std::filesystem::path copy_workload_for(const TestUser& user, const std::string& workload,
                                        const std::filesystem::path& dir);

// Starts a workload as the user in a session of its own, in dir (made and
// handed to the user), with `--status dir/status` and the extra arguments;
// waits until its status file exists. The test process reaps it itself
// (claim_child); returns its pid, or -1 when it did not start.
pid_t start_workload_as(const TestUser& user, const std::string& workload,
                        const std::filesystem::path& dir,
                        const std::vector<std::string>& extra = {});

// Forks a child that becomes the user (groups, gid, uid) in a session of its
// own, with stdio on /dev/null, and runs body, then exits; the child is left
// to the SubreaperScope (or KillOnExit) to reap. body runs after fork() in a
// test process with threads: only async-signal-safe calls (no allocation).
// Returns the pid, or -1.
pid_t fork_as(const TestUser& user, const std::function<void()>& body);

// Starts argv (argv[0] an absolute path) as the user, as fork_as does.
pid_t start_as(const TestUser& user, std::vector<std::string> argv);

// Asks a workload to verify itself (SIGUSR1) and waits for its answer in its
// status file; "" when it passes, else what failed.
std::string verify_workload(pid_t pid, const std::filesystem::path& status,
                            std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The "Uid:" line of /proc/<pid>/status ("" when the process is gone).
std::string uid_line(pid_t pid);

// Kills a pid (a workload, later its restored self) when the test ends.
struct KillOnExit {
  pid_t pid;
  ~KillOnExit();
};

} // namespace stasis::test
