#include "tests/support/workload.hpp"

#include "tests/workloads/status_format.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <poll.h>
#include <signal.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace stasis::test {
namespace {

constexpr auto k_poll = std::chrono::milliseconds(5);
constexpr auto k_start_timeout = std::chrono::seconds(10);
constexpr auto k_gone_timeout = std::chrono::seconds(10);

std::uint64_t to_number(const std::map<std::string, std::string>& status,
                        const std::string& key) {
  const auto it = status.find(key);
  if (it == status.end()) {
    return 0;
  }
  std::uint64_t value = 0;
  const auto& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() ? value : 0;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) {
    const int code = WEXITSTATUS(status);
    std::string text = "exited with code " + std::to_string(code);
    if (code == 126) {
      text += " (cannot set up stdio or change into its directory)";
    } else if (code == 127) {
      text += " (exec failed)";
    }
    return text;
  }
  if (WIFSIGNALED(status)) {
    return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
  }
  return "ended with wait status " + std::to_string(status);
}

// Runs the workload again with stderr on a pipe to learn why it refused to start
// (the real start puts stdio on /dev/null); returns its first line, or "".
std::string startup_error(const std::vector<char*>& argv, const std::string& dir) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return {};
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return {};
  }
  if (pid == 0) {
    ::setsid();
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(fds[1], 2);
    if (::chdir(dir.c_str()) != 0) {
      ::_exit(126);
    }
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string text;
  pollfd poll_fd{fds[0], POLLIN, 0};
  char buffer[512];
  while (text.size() < 4096 && ::poll(&poll_fd, 1, 2000) > 0) {
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n <= 0) {
      break;
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  if (const auto eol = text.find('\n'); eol != std::string::npos) {
    text.resize(eol);
  }
  return text;
}

} // namespace

std::filesystem::path workload_binary(std::string_view name) {
  return std::filesystem::path(STASIS_TEST_WORKLOAD_DIR) / std::string(name);
}

Workload::Workload(std::string name, pid_t pid, std::filesystem::path dir)
    : m_name(std::move(name)), m_pid(pid), m_is_child(true), m_dir(std::move(dir)) {
  claim_child(pid);
}

void Workload::forget_child() {
  if (m_is_child) {
    release_child(m_pid);
    m_is_child = false;
  }
}

Workload Workload::start(std::string_view name, std::vector<std::string> args,
                         std::filesystem::path dir) {
  const auto binary = workload_binary(name);
  if (::access(binary.c_str(), X_OK) != 0) {
    throw std::runtime_error("workload " + binary.string() +
                             " is not an executable (is the workload target built?)");
  }
  std::filesystem::create_directories(dir);
  const auto status_file = dir / "status";
  std::filesystem::remove(status_file);
  std::filesystem::remove(dir / "status.tmp");

  std::vector<std::string> argv{binary.string()};
  argv.insert(argv.end(), std::make_move_iterator(args.begin()),
              std::make_move_iterator(args.end()));
  argv.push_back("--status");
  argv.push_back(status_file.string());
  std::vector<char*> raw;
  for (auto& arg : argv) {
    raw.push_back(arg.data());
  }
  raw.push_back(nullptr);
  const std::string dir_text = dir.string();

  // Only async-signal-safe calls in the child: the test process may have threads.
  const pid_t pid = ::fork();
  if (pid < 0) {
    throw std::runtime_error("cannot fork for " + std::string(name) + ": " +
                             std::strerror(errno));
  }
  if (pid == 0) {
    ::setsid();
    const int null = ::open("/dev/null", O_RDWR);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 1) < 0 || ::dup2(null, 2) < 0) {
      ::_exit(126);
    }
    if (::chdir(dir_text.c_str()) != 0) {
      ::_exit(126);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::close_range(3, ~0U, 0);
    ::execv(raw[0], raw.data());
    ::_exit(127);
  }

  Workload workload(std::string(name), pid, dir);
  const auto deadline = std::chrono::steady_clock::now() + k_start_timeout;
  while (!std::filesystem::exists(status_file)) {
    int wait_status = 0;
    if (::waitpid(pid, &wait_status, WNOHANG) == pid) {
      workload.forget_child();
      workload.m_pid = -1;
      std::string message = "workload " + std::string(name) + " (pid " +
                            std::to_string(pid) + ") " +
                            describe_wait_status(wait_status) + " during start-up";
      if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 2) {
        if (const auto why = startup_error(raw, dir_text); !why.empty()) {
          message += ": " + why;
        }
      }
      throw std::runtime_error(message);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("workload " + std::string(name) + " (pid " +
                               std::to_string(pid) + ") wrote no status file " +
                               status_file.string() + " within 10 s");
    }
    std::this_thread::sleep_for(k_poll);
  }
  return workload;
}

Workload::Workload(Workload&& other) noexcept
    : m_name(std::move(other.m_name)), m_pid(std::exchange(other.m_pid, -1)),
      m_is_child(std::exchange(other.m_is_child, false)), m_dir(std::move(other.m_dir)) {}

Workload& Workload::operator=(Workload&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    m_name = std::move(other.m_name);
    m_pid = std::exchange(other.m_pid, -1);
    m_is_child = std::exchange(other.m_is_child, false);
    m_dir = std::move(other.m_dir);
  }
  return *this;
}

Workload::~Workload() {
  kill_and_reap();
}

void Workload::kill_and_reap() noexcept {
  if (m_pid <= 0) {
    return;
  }
  if (const auto stat = read_proc_stat(m_pid); stat && stat->state != 'Z') {
    if (stat->pgrp == m_pid) {
      ::kill(-m_pid, SIGKILL); // The whole group: e.g. stasis-wl-pipe's child.
    }
    ::kill(m_pid, SIGKILL);
  }
  const auto deadline = std::chrono::steady_clock::now() + k_gone_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    try_reap();
    if (wait_pid_gone(m_pid, std::chrono::milliseconds(0))) {
      break;
    }
    std::this_thread::sleep_for(k_poll);
  }
  forget_child();
  m_pid = -1;
}

int Workload::try_reap() {
  if (m_pid <= 0) {
    return -1;
  }
  const auto stat = read_proc_stat(m_pid);
  // Our forked child, or a restored process reparented to us (a subreaper).
  const bool ours = m_is_child || (stat && stat->ppid == ::getpid());
  if (!ours || (stat && stat->state != 'Z')) {
    return -1;
  }
  int wait_status = 0;
  const pid_t r = ::waitpid(m_pid, &wait_status, WNOHANG);
  if (r == m_pid) {
    forget_child();
    return wait_status;
  }
  if (r < 0 && errno == ECHILD) {
    forget_child(); // Reaped elsewhere (e.g. by the SubreaperScope thread).
  }
  return -1;
}

std::map<std::string, std::string> Workload::status() const {
  // A read that overlaps the workload's in-place rewrite fails its checksum
  // (status_format.hpp): read again.
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::ifstream file(status_file(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
    const auto end =
        text.find(std::string("\n") + std::string(workloads::k_status_end_key));
    if (end == std::string::npos) {
      return {}; // missing, reset or not written yet
    }
    const std::string body = text.substr(0, end + 1);
    const auto sum_at = end + 1 + workloads::k_status_end_key.size();
    const auto sum_end = text.find('\n', sum_at);
    if (sum_end == std::string::npos ||
        text.substr(sum_at, sum_end - sum_at) != workloads::status_checksum(body)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    return parse_key_values(body);
  }
  return {};
}

void Workload::reset_status() const {
  // In place, keeping the size: a restored copy may hold the file open.
  const auto file = status_file();
  std::error_code ec;
  if (std::filesystem::file_size(file, ec) != workloads::k_status_size || ec) {
    std::filesystem::remove(file, ec);
    return;
  }
  const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return;
  }
  const std::string blank(workloads::k_status_size, '\n');
  [[maybe_unused]] const ssize_t n = ::pwrite(fd, blank.data(), blank.size(), 0);
  ::close(fd);
}

std::uint64_t Workload::status_number(const std::string& key) const {
  return to_number(status(), key);
}

std::uint64_t Workload::ticks() const {
  return status_number("ticks");
}

bool Workload::wait_for_ticks(std::uint64_t at_least,
                              std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (ticks() >= at_least) {
      return true;
    }
    if (!alive() || std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(k_poll);
  }
}

std::string Workload::verify(std::chrono::milliseconds timeout) const {
  const std::string who = m_name + " (pid " + std::to_string(m_pid) + ")";
  if (!alive()) {
    return who + " is not running";
  }
  const std::uint64_t before = status_number("verified");
  if (::kill(m_pid, SIGUSR1) != 0) {
    return who + ": cannot send SIGUSR1: " + std::strerror(errno);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto values = status();
    if (to_number(values, "verified") > before) {
      const auto check = values.find("check");
      if (check != values.end() && check->second == "pass") {
        return {};
      }
      const auto detail = values.find("detail");
      const std::string reason = detail != values.end() && !detail->second.empty()
                                     ? detail->second
                                     : "check=fail";
      return who + ": " + reason;
    }
    if (!alive()) {
      return who + " died while verifying";
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return who + ": no verification result within " + std::to_string(timeout.count()) +
             " ms (verified stayed at " + std::to_string(before) + ")";
    }
    std::this_thread::sleep_for(k_poll);
  }
}

void Workload::step() const {
  const std::string who = m_name + " (pid " + std::to_string(m_pid) + ")";
  const std::uint64_t before = status_number("steps");
  if (!alive() || ::kill(m_pid, SIGUSR2) != 0) {
    throw std::runtime_error(who + " is not running: cannot step");
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (status_number("steps") <= before) {
    if (!alive()) {
      throw std::runtime_error(who + " died during a step");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(who + ": steps stayed at " + std::to_string(before) +
                               " for 10 s after SIGUSR2");
    }
    std::this_thread::sleep_for(k_poll);
  }
}

void Workload::adopt(pid_t pid) {
  if (pid != m_pid) {
    try_reap();
  }
  forget_child();
  m_pid = pid;
}

bool Workload::alive() const {
  const auto stat = read_proc_stat(m_pid);
  return stat && stat->state != 'Z' && stat->state != 'X';
}

void Workload::reap_after_dump() {
  const auto deadline = std::chrono::steady_clock::now() + k_gone_timeout;
  for (;;) {
    try_reap();
    if (!read_proc_stat(m_pid)) {
      forget_child();
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(m_name + " (pid " + std::to_string(m_pid) +
                               ") is still present 10 s after the dump");
    }
    std::this_thread::sleep_for(k_poll);
  }
}

int Workload::terminate(std::chrono::milliseconds timeout) {
  if (m_pid <= 0) {
    return -1;
  }
  ::kill(m_pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int exit_code = -1;
  for (;;) {
    if (const int wait_status = try_reap(); wait_status >= 0) {
      exit_code =
          WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
    }
    if (wait_pid_gone(m_pid, std::chrono::milliseconds(0)) ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(k_poll);
  }
  if (alive()) {
    kill_and_reap();
  }
  forget_child();
  m_pid = -1;
  return exit_code;
}

} // namespace stasis::test
