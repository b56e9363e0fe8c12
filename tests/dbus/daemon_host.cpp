#include "tests/dbus/daemon_host.hpp"

#include "remote/base64.hpp"

#include <fcntl.h>
#include <fstream>
#include <optional>
#include <signal.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

void reap_or_kill(pid_t pid, Clock::time_point deadline) {
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return;
    }
    std::this_thread::sleep_for(5ms);
  }
}

} // namespace

TestHost::TestHost(std::string name, const NetNamespace* netns)
    : m_name(std::move(name)), m_netns(netns) {
  fs::create_directories(policy_dir());
  fs::create_directories(state_dir());
  ::chmod(m_bus.dir().c_str(), 0711);
  ::chmod(dir().c_str(), 0711);
}

TestHost::~TestHost() {
  kill_daemon();
}

void TestHost::write_policy(const std::string& file, const std::string& jobs_yaml) {
  const auto path = policy_dir() / file;
  std::ofstream(path) << "version: 1\njobs:\n" << jobs_yaml;
  ::chmod(path.c_str(), 0644);
}

std::string TestHost::start_daemon() {
  if (m_daemon > 0) {
    return "stasisd of " + m_name + " is already running";
  }
  std::vector<std::string> argv{
      STASISD_PATH,          "--bus",       m_bus.address(),      "--policy-dir",
      policy_dir().string(), "--state-dir", state_dir().string(), "-v"};
  std::vector<char*> pointers;
  for (auto& arg : argv) {
    pointers.push_back(arg.data());
  }
  pointers.push_back(nullptr);
  const auto log_path = dir() / "stasisd.log";
  {
    std::optional<InNetns> inside;
    if (m_netns != nullptr) {
      inside.emplace(*m_netns);
    }
    m_daemon = ::fork();
    if (m_daemon == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::execv(pointers[0], pointers.data());
      ::_exit(127);
    }
  }
  if (m_daemon < 0) {
    return "fork failed";
  }
  const auto deadline = Clock::now() + 30s;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(m_daemon, &status, WNOHANG) == m_daemon) {
      m_daemon = -1;
      return "stasisd of " + m_name + " exited during start:\n" + log();
    }
    if (auto connected = dbus::Client::connect(m_bus.address())) {
      if ((*connected)->list_jobs()) {
        return "";
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  return "stasisd of " + m_name + " did not answer within 30 s:\n" + log();
}

void TestHost::kill_daemon() {
  if (m_daemon > 0) {
    ::kill(m_daemon, SIGKILL);
    reap_or_kill(m_daemon, Clock::now() + 20s);
    m_daemon = -1;
  }
}

std::unique_ptr<dbus::Client> TestHost::client() {
  auto connected = dbus::Client::connect(m_bus.address());
  if (!connected) {
    ADD_FAILURE() << "cannot connect to the bus of " << m_name << ": "
                  << connected.error().message;
    return nullptr;
  }
  return std::move(*connected);
}

Captured TestHost::stasisctl(const std::vector<std::string>& args,
                             const std::string& user) {
  const auto argv = stasisctl_argv(m_bus.address(), args, user);
  std::optional<InNetns> inside;
  if (m_netns != nullptr) {
    inside.emplace(*m_netns);
  }
  return run_captured(argv, 120s);
}

Workload TestHost::start_workload(std::string_view name, std::vector<std::string> args,
                                  const fs::path& dir) {
  std::optional<InNetns> inside;
  if (m_netns != nullptr) {
    inside.emplace(*m_netns);
  }
  return Workload::start(name, std::move(args), dir);
}

std::string TestHost::log() const {
  std::ifstream in(dir() / "stasisd.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool wait_until(const std::function<bool()>& pred, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

std::vector<manager::RunInfo> runs_of(dbus::Client& client, const std::string& job,
                                      manager::RunKind kind, manager::RunState state) {
  std::vector<manager::RunInfo> found;
  if (auto runs = client.list_runs(job, 0)) {
    for (const auto& run : *runs) {
      if (run.kind == kind && run.state == state) {
        found.push_back(run);
      }
    }
  }
  return found;
}

fs::path write_auth_file(const fs::path& file, const std::string& host,
                         const std::string& password) {
  std::ofstream(file) << R"({"auths": {")" << host << R"(": {"auth": ")"
                      << remote::base64_encode(std::string(TestRegistry::k_user) + ":" +
                                               password)
                      << "\"}}}\n";
  ::chmod(file.c_str(), 0600);
  return file;
}

std::string replicate_yaml(const std::string& host, const std::string& repository,
                           const fs::path& auth_file, const fs::path& ca_file,
                           const std::string& extra) {
  std::string yaml = "replicate:\n  to: " + host + "/" + repository +
                     "\n  credentials: " + auth_file.string() +
                     "\n  ca-file: " + ca_file.string() + "\n";
  std::istringstream lines(extra);
  for (std::string line; std::getline(lines, line);) {
    yaml += "  " + line + "\n";
  }
  return yaml;
}

} // namespace stasis::test
