#include "tests/dbus/daemon_fixture.hpp"

#include <fcntl.h>
#include <fstream>
#include <poll.h>
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

std::vector<char*> c_argv(std::vector<std::string>& argv) {
  std::vector<char*> result;
  for (auto& arg : argv) {
    result.push_back(arg.data());
  }
  result.push_back(nullptr);
  return result;
}

// Waits for pid until the deadline; SIGKILLs it after. Returns the exit code.
int reap_until(pid_t pid, Clock::time_point deadline) {
  int status = 0;
  while (true) {
    const pid_t got = ::waitpid(pid, &status, WNOHANG);
    if (got == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (got < 0) {
      return -1;
    }
    if (Clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(5ms);
  }
}

} // namespace

Captured run_captured(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout) {
  int out[2];
  int err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  auto args = argv;
  auto pointers = c_argv(args);
  const pid_t pid = ::fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    ::execv(pointers[0], pointers.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  Captured result;
  const auto deadline = Clock::now() + timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buffer[4096];
  while (open_fds > 0 && Clock::now() < deadline) {
    if (::poll(fds, 2, 100) <= 0) {
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP)) != 0) {
        const auto got = ::read(fds[i].fd, buffer, sizeof buffer);
        if (got <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
        } else {
          (i == 0 ? result.out : result.err)
              .append(buffer, static_cast<std::size_t>(got));
        }
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) {
      ::close(fd.fd);
    }
  }
  result.exit_code = reap_until(pid, deadline);
  return result;
}

std::string pidfile_job(const std::string& name, const fs::path& pidfile,
                        const std::string& extra) {
  std::string yaml =
      "  - name: " + name + "\n    target:\n      pidfile: " + pidfile.string() + "\n";
  std::istringstream lines(extra);
  for (std::string line; std::getline(lines, line);) {
    yaml += "    " + line + "\n";
  }
  return yaml;
}

DaemonTest::DaemonTest() {
  fs::create_directories(policy_dir());
  fs::create_directories(state_dir());
  // Other users (test 4) reach the bus socket and their workload dirs.
  ::chmod(m_bus.dir().c_str(), 0711);
  ::chmod(m_dir.path().c_str(), 0711);
}

DaemonTest::~DaemonTest() {
  if (m_daemon > 0) {
    stop_daemon(SIGKILL);
  }
}

void DaemonTest::write_policy(const std::string& file, const std::string& jobs_yaml) {
  const auto path = policy_dir() / file;
  std::ofstream(path) << "version: 1\njobs:\n" << jobs_yaml;
  ::chmod(path.c_str(), 0644);
}

fs::path DaemonTest::write_pidfile(const std::string& name, pid_t pid) {
  const auto path = dir() / (name + ".pid");
  std::ofstream(path) << pid << "\n";
  return path;
}

void DaemonTest::start_daemon(const std::vector<std::string>& extra) {
  ASSERT_EQ(m_daemon, -1) << "stasisd is already running";
  std::vector<std::string> argv{
      STASISD_PATH,          "--bus",       m_bus.address(),      "--policy-dir",
      policy_dir().string(), "--state-dir", state_dir().string(), "-v"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto pointers = c_argv(argv);
  const auto log_path = dir() / "stasisd.log";
  m_daemon = ::fork();
  ASSERT_GE(m_daemon, 0);
  if (m_daemon == 0) {
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execv(pointers[0], pointers.data());
    ::_exit(127);
  }
  const auto deadline = Clock::now() + 15s;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(m_daemon, &status, WNOHANG) == m_daemon) {
      m_daemon = -1;
      FAIL() << "stasisd exited during start:\n" << log();
    }
    if (auto connected = dbus::Client::connect(m_bus.address())) {
      if ((*connected)->list_jobs()) {
        return;
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  FAIL() << "stasisd did not answer within 15 s:\n" << log();
}

int DaemonTest::stop_daemon(int signal) {
  if (m_daemon <= 0) {
    return -1;
  }
  ::kill(m_daemon, signal);
  const int code = reap_until(m_daemon, Clock::now() + 20s);
  m_daemon = -1;
  return code;
}

std::unique_ptr<dbus::Client> DaemonTest::client() {
  auto connected = dbus::Client::connect(m_bus.address());
  if (!connected) {
    ADD_FAILURE() << "cannot connect to the private bus: " << connected.error().message;
    return nullptr;
  }
  return std::move(*connected);
}

manager::RunInfo DaemonTest::wait_run(dbus::Client& client, const std::string& run,
                                      std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  manager::RunInfo info;
  while (Clock::now() < deadline) {
    auto got = client.get_run(run);
    if (got) {
      info = *got;
      if (info.state != manager::RunState::Queued &&
          info.state != manager::RunState::Running) {
        return info;
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "run " << run << " did not finish within " << timeout.count()
                << " s (state " << manager::to_string(info.state) << ")\n"
                << log();
  return info;
}

std::vector<std::string> stasisctl_argv(const std::string& bus,
                                        const std::vector<std::string>& args,
                                        const std::string& user) {
  std::vector<std::string> argv;
  if (!user.empty()) {
    argv = {"/usr/bin/setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups",
            "--"};
  }
  argv.insert(argv.end(), {STASISCTL_PATH, "--bus", bus});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Captured DaemonTest::stasisctl(const std::vector<std::string>& args,
                               const std::string& user) {
  return run_captured(stasisctl_argv(m_bus.address(), args, user));
}

std::string DaemonTest::log() const {
  std::ifstream in(dir() / "stasisd.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace stasis::test
