#include "tests/dbus/test_user.hpp"

#include "tests/dbus/daemon_fixture.hpp"
#include "tests/support/process.hpp"
#include "tests/support/subreaper.hpp"

#include <algorithm>
#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdexcept>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace stasis::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// useradd and userdel refuse at once ("cannot lock /etc/passwd") while
// another one runs, as under ctest -j: test processes take turns on a lock
// file, and a refusal is retried for a while.
Captured run_user_tool(const std::vector<std::string>& argv) {
  const int lock =
      ::open("/run/lock/stasis-test-users.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock >= 0) {
    ::flock(lock, LOCK_EX);
  }
  Captured result;
  for (int attempt = 0; attempt < 50; ++attempt) {
    result = run_captured(argv);
    if (result.err.find("lock") == std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  if (lock >= 0) {
    ::close(lock);
  }
  return result;
}

} // namespace

namespace {

// name, made unique to this test process: the tests of one fixture share a
// name, and ctest -j runs them at once (one's userdel pulled the user from
// under the other).
std::string unique_user_name(std::string name) {
  constexpr std::size_t k_max_user_name = 32;
  std::string suffix;
  for (auto pid = static_cast<unsigned>(::getpid()); pid != 0; pid /= 36) {
    suffix.insert(suffix.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[pid % 36]);
  }
  name.resize(std::min(name.size(), k_max_user_name - suffix.size() - 1));
  return name + "-" + suffix;
}

} // namespace

TestUser::TestUser(std::string name) : m_name(unique_user_name(std::move(name))) {
  run_user_tool({"/usr/sbin/userdel", m_name});
  auto added = run_user_tool({"/usr/sbin/useradd", "--system", "--no-create-home",
                              "--user-group", "--shell", "/usr/sbin/nologin", m_name});
  if (added.exit_code != 0) {
    throw std::runtime_error("useradd " + m_name + " failed: " + added.err);
  }
  const passwd* entry = ::getpwnam(m_name.c_str());
  if (entry == nullptr) {
    throw std::runtime_error("useradd made no passwd entry for " + m_name);
  }
  m_uid = entry->pw_uid;
  m_gid = entry->pw_gid;
}

TestUser::~TestUser() {
  run_user_tool({"/usr/sbin/userdel", m_name});
}

fs::path copy_workload_for(const TestUser& user, const std::string& workload,
                           const fs::path& dir) {
  fs::create_directories(dir);
  ::chown(dir.c_str(), user.uid(), user.gid());
  const fs::path copy = dir / workload;
  fs::copy_file(workload_binary(workload), copy, fs::copy_options::overwrite_existing);
  fs::permissions(copy, fs::perms::owner_all | fs::perms::group_read |
                            fs::perms::group_exec | fs::perms::others_read |
                            fs::perms::others_exec);
  return copy;
}

pid_t start_workload_as(const TestUser& user, const std::string& workload,
                        const fs::path& dir, const std::vector<std::string>& extra) {
  const std::string binary = copy_workload_for(user, workload, dir).string();
  const std::string status = (dir / "status").string();
  std::vector<std::string> args = {binary, "--status", status};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    const gid_t gid = user.gid();
    if (::setgroups(1, &gid) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(user.uid(), user.uid(), user.uid()) != 0 ||
        ::chdir(dir.c_str()) != 0) {
      ::_exit(126);
    }
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (pid < 0) {
    return -1;
  }
  claim_child(pid); // the test reaps it itself
  for (int i = 0; i < 250 && !fs::exists(status); ++i) {
    std::this_thread::sleep_for(20ms);
  }
  return fs::exists(status) ? pid : -1;
}

pid_t fork_as(const TestUser& user, const std::function<void()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    const gid_t gid = user.gid();
    if (::setgroups(1, &gid) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(user.uid(), user.uid(), user.uid()) != 0) {
      ::_exit(126);
    }
    ::close_range(3, ~0U, 0);
    body();
    ::_exit(0);
  }
  return pid < 0 ? -1 : pid;
}

pid_t start_as(const TestUser& user, std::vector<std::string> argv) {
  std::vector<char*> pointers;
  for (auto& arg : argv) {
    pointers.push_back(arg.data());
  }
  pointers.push_back(nullptr);
  return fork_as(user, [&pointers] {
    ::execv(pointers[0], pointers.data());
    ::_exit(127);
  });
}

std::string verify_workload(pid_t pid, const fs::path& status,
                            std::chrono::milliseconds timeout) {
  const auto before = read_key_values(status)["verified"];
  ::kill(pid, SIGUSR1);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto now = read_key_values(status);
    if (now["verified"] != before) {
      return now["check"] == "pass" ? "" : "check " + now["check"] + ": " + now["detail"];
    }
    std::this_thread::sleep_for(20ms);
  }
  return "no verification within the timeout";
}

std::string uid_line(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Uid:", 0) == 0) {
      return line;
    }
  }
  return "";
}

KillOnExit::~KillOnExit() {
  if (pid > 0 && ::kill(pid, SIGKILL) == 0) {
    wait_pid_gone(pid, std::chrono::seconds(5));
  }
}

} // namespace stasis::test
