// The daemon tier: the real stasisd binary on a private bus with a temp
// policy dir (root-owned, 0644 files) and state dir, real CRIU and real
// workloads. The test process is a child subreaper before stasisd starts, so
// workloads that stasisd restores (detached) are reparented to it and reaped.
#pragma once

#include "dbus/client.hpp"
#include "tests/dbus/private_bus.hpp"
#include "tests/support/workload.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace stasis::test {

// What a program printed and how it ended.
struct Captured {
  int exit_code = -1; // -1: killed after the timeout or by a signal
  std::string out;
  std::string err;
};

// Runs argv, capturing stdout and stderr; kills it (by pid) after timeout.
Captured run_captured(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The command line of stasisctl on bus with args, as `user` (a name; "" =
// root) through setpriv.
std::vector<std::string> stasisctl_argv(const std::string& bus,
                                        const std::vector<std::string>& args,
                                        const std::string& user = "");

// A job's YAML for a pidfile target; extra lines are indented under the job.
std::string pidfile_job(const std::string& name, const std::filesystem::path& pidfile,
                        const std::string& extra = "");

class DaemonTest : public ::testing::Test {
protected:
  DaemonTest();
  ~DaemonTest() override;

  std::filesystem::path dir() const { return m_dir.path(); }
  // The private bus's address (for a stasisd started some other way).
  const std::string& bus_address() const { return m_bus.address(); }
  // The private bus's dir (its services/ dir is the bus's activation dir).
  const std::filesystem::path& bus_dir() const { return m_bus.dir(); }
  std::filesystem::path policy_dir() const { return m_dir.path() / "policy"; }
  std::filesystem::path state_dir() const { return m_dir.path() / "state"; }

  // Writes a policy file (mode 0644) with `version: 1` and the jobs' YAML.
  void write_policy(const std::string& file, const std::string& jobs_yaml);
  // Writes pid into dir()/<name>.pid and returns the path.
  std::filesystem::path write_pidfile(const std::string& name, pid_t pid);

  // Starts stasisd (with extra options) and waits until it answers (fails the
  // test otherwise).
  void start_daemon(const std::vector<std::string>& extra = {});
  // Sends the signal and reaps stasisd; returns its exit code (-1 on a signal).
  int stop_daemon(int signal);
  bool daemon_running() const { return m_daemon > 0; }

  // A client on the private bus (as root).
  std::unique_ptr<dbus::Client> client();
  // Waits until the run is final (polling GetRun); fails the test on timeout.
  manager::RunInfo wait_run(dbus::Client& client, const std::string& run,
                            std::chrono::seconds timeout = std::chrono::seconds(30));
  // stasisctl on the private bus, optionally as another user (setpriv).
  Captured stasisctl(const std::vector<std::string>& args, const std::string& user = "");

  // stasisd's output so far.
  std::string log() const;

private:
  SubreaperScope m_reaper;
  PrivateBus m_bus;
  TempDir m_dir{"stasis-daemon-test"};
  pid_t m_daemon = -1;
};

} // namespace stasis::test
