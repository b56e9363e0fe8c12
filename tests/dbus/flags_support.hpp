// Shared steps of the CRIU flag cases (tests/dbus/flags_*_test.cpp): install
// a policy from examples/flags/ (only its paths rewritten), checkpoint and
// restore through stasisd, and check that nothing was left half-done.
#pragma once

#include "tests/dbus/daemon_fixture.hpp"

#include <map>
#include <string>

namespace stasis::test {

class FlagsTest : public DaemonTest {
protected:
  // Copies examples/flags/<name>.yaml into the policy dir, replacing every
  // occurrence of each key of `rewrite` (e.g. the example's pidfile path) by
  // its value; fails the test if a key does not occur.
  void install_example(const std::string& name,
                       const std::map<std::string, std::string>& rewrite);
  // Writes a policy file holding one job (pidfile_job) in the policy dir.
  void install_job(const std::string& file, const std::string& job_yaml);

  // Checkpoints the job on demand and waits for the run to end.
  manager::RunInfo checkpoint(const std::string& job);
  // Restores the job's latest checkpoint and waits for the run to end.
  manager::RunInfo restore(const std::string& job);
};

// A named network namespace (/run/netns/NAME) for the test's life. Processes
// join it with setns (as nsenter --net= does), not `ip netns exec`, whose
// extra mount namespace CRIU cannot dump.
class NetnsScope {
public:
  NetnsScope();
  ~NetnsScope();
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;

  std::string path() const { return "/run/netns/" + m_name; }

private:
  std::string m_name;
};

// The PID holding a POSIX lock that conflicts with a write lock on the whole
// file at path (fcntl F_GETLK from this process), or 0 if none does.
pid_t posix_lock_holder(const std::filesystem::path& path);

} // namespace stasis::test
