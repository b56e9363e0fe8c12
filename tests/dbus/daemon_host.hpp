// Hosts for the tests that play several machines on one: each TestHost has
// its own private bus, policy and state dirs and its own stasisd, optionally
// inside a network namespace of its own (tests/support/netns.hpp), where the
// workloads it is given start too. Helpers for registry replication through
// the daemon: a containers-auth.json for the test registry, waiting for runs.
#pragma once

#include "dbus/client.hpp"
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/private_bus.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/registry.hpp"
#include "tests/support/workload.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace stasis::test {

class TestHost {
public:
  // netns: where stasisd and the host's workloads run (nullptr: here).
  explicit TestHost(std::string name, const NetNamespace* netns = nullptr);
  ~TestHost();
  TestHost(const TestHost&) = delete;
  TestHost& operator=(const TestHost&) = delete;

  const std::string& name() const { return m_name; }
  std::filesystem::path dir() const { return m_dir.path(); }
  std::filesystem::path policy_dir() const { return dir() / "policy"; }
  std::filesystem::path state_dir() const { return dir() / "state"; }
  const std::string& bus_address() const { return m_bus.address(); }

  // Writes a policy file (mode 0644) with `version: 1` and the jobs' YAML.
  void write_policy(const std::string& file, const std::string& jobs_yaml);
  // Starts stasisd in the host's namespace and waits until it answers;
  // returns "" then, else why not (with its log).
  std::string start_daemon();
  // kill -9 of stasisd, reaped (a host that dies).
  void kill_daemon();
  bool daemon_running() const { return m_daemon > 0; }

  // A client on the host's bus (as root); nullptr after a test failure.
  std::unique_ptr<dbus::Client> client();
  // stasisctl on the host's bus, in the host's namespace, optionally as
  // another user (setpriv).
  Captured stasisctl(const std::vector<std::string>& args, const std::string& user = "");
  // Starts a workload (Workload::start) in the host's namespace.
  Workload start_workload(std::string_view name, std::vector<std::string> args,
                          const std::filesystem::path& dir);
  // stasisd's output so far.
  std::string log() const;

private:
  std::string m_name;
  const NetNamespace* m_netns;
  PrivateBus m_bus;
  TempDir m_dir{"stasis-host"};
  pid_t m_daemon = -1;
};

// Polls pred every 50 ms until it holds; false after timeout.
bool wait_until(const std::function<bool()>& pred, std::chrono::seconds timeout);

// The runs of job (newest first) of that kind and state.
std::vector<manager::RunInfo> runs_of(dbus::Client& client, const std::string& job,
                                      manager::RunKind kind, manager::RunState state);

// Writes a containers-auth.json(5) with the test registry's user and password
// (or the given password) for host into file (mode 0600) and returns its path.
std::filesystem::path
write_auth_file(const std::filesystem::path& file, const std::string& host,
                const std::string& password = TestRegistry::k_password);

// The `replicate:` lines of a job for the test registry at host/repository.
std::string replicate_yaml(const std::string& host, const std::string& repository,
                           const std::filesystem::path& auth_file,
                           const std::filesystem::path& ca_file,
                           const std::string& extra = "");

} // namespace stasis::test
