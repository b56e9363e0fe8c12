// Helpers of the namespace and flag tests: the policies they run are the
// examples in examples/flags/, copied into the daemon's policy dir with only
// their target paths rewritten.
#pragma once

#include "tests/dbus/daemon_fixture.hpp"
#include "tests/support/workload.hpp"

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sched.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace stasis::test {

// Copies examples/flags/<name>.yaml into policy_dir (mode 0644), replacing
// each key of `rewrites` with its value; throws when the example is missing or
// a rewrite does not apply.
inline void install_flag_example(const std::filesystem::path& policy_dir,
                                 const std::string& name,
                                 const std::map<std::string, std::string>& rewrites) {
  const auto source =
      std::filesystem::path(STASIS_SOURCE_DIR) / "examples" / "flags" / (name + ".yaml");
  std::ifstream in(source);
  if (!in) {
    throw std::runtime_error("missing example " + source.string());
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string yaml = text.str();
  for (const auto& [from, to] : rewrites) {
    const auto at = yaml.find(from);
    if (at == std::string::npos) {
      throw std::runtime_error("example " + name + " has no '" + from + "'");
    }
    for (auto pos = at; pos != std::string::npos;
         pos = yaml.find(from, pos + to.size())) {
      yaml.replace(pos, from.size(), to);
    }
  }
  const auto target = policy_dir / (name + ".yaml");
  std::ofstream(target) << yaml;
  ::chmod(target.c_str(), 0644);
}

// A daemon test around one example of examples/flags/.
class FlagExampleTest : public DaemonTest {
protected:
  // Installs the example with its pidfile /run/stasis-examples/<example>.pid
  // pointing at `pid` (plus `rewrites`) and starts stasisd.
  void start_with(const std::string& example, pid_t pid,
                  std::map<std::string, std::string> rewrites = {}) {
    rewrites["/run/stasis-examples/" + example + ".pid"] =
        write_pidfile(example, pid).string();
    install_flag_example(policy_dir(), example, rewrites);
    start_daemon();
    m_client = client();
    ASSERT_TRUE(m_client);
  }
  // Runs a checkpoint of the job to its end.
  manager::RunInfo checkpoint(const std::string& job,
                              const manager::CheckpointOptions& options = {}) {
    auto run = m_client->checkpoint(job, options);
    EXPECT_TRUE(run) << run.error().message;
    return run ? wait_run(*m_client, *run) : manager::RunInfo{};
  }
  // Runs a restore of the job's newest checkpoint to its end.
  manager::RunInfo restore(const std::string& job,
                           const manager::RestoreOptions& options = {}) {
    auto run = m_client->restore(job, "", options);
    EXPECT_TRUE(run) << run.error().message;
    return run ? wait_run(*m_client, *run) : manager::RunInfo{};
  }

  std::unique_ptr<dbus::Client> m_client;
};

// Starts a workload in a network namespace of its own (a fresh one, holding
// only a loopback device), then returns the calling thread to its namespace.
inline Workload start_in_new_network_namespace(std::string_view name,
                                               const std::filesystem::path& dir) {
  const int ours = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (ours < 0 || ::unshare(CLONE_NEWNET) != 0) {
    throw std::runtime_error("cannot make a network namespace");
  }
  struct Back {
    int fd;
    ~Back() {
      ::setns(fd, CLONE_NEWNET);
      ::close(fd);
    }
  } back{ours};
  return Workload::start(name, {}, dir);
}

// The lines of a file (empty when it does not exist).
inline std::vector<std::string> read_lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

} // namespace stasis::test
