#include "tests/dbus/private_bus.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <signal.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace stasis::test {
namespace {

constexpr const char* k_dbus_daemon = "/usr/bin/dbus-daemon";

// A session-like bus that allows everything: the D-Bus tests check our
// translation layer, not a bus policy.
std::string bus_config(const std::filesystem::path& dir) {
  return "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration "
         "1.0//EN\"\n"
         " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
         "<busconfig>\n"
         "  <type>session</type>\n"
         "  <listen>unix:path=" +
         (dir / "bus").string() +
         "</listen>\n"
         "  <auth>EXTERNAL</auth>\n"
         "  <servicedir>" +
         (dir / "services").string() +
         "</servicedir>\n"
         "  <policy context=\"default\">\n"
         "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
         "    <allow eavesdrop=\"true\"/>\n"
         "    <allow own=\"*\"/>\n"
         "    <allow user=\"*\"/>\n"
         "  </policy>\n"
         "</busconfig>\n";
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("private dbus-daemon: " + what);
}

} // namespace

PrivateBus::PrivateBus() {
  if (::access(k_dbus_daemon, X_OK) != 0) {
    fail(std::string(k_dbus_daemon) + " is missing: install the dbus-daemon package "
                                      "(scripts/setup.sh does)");
  }
  std::string templ =
      (std::filesystem::temp_directory_path() / "stasis-bus-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) {
    fail(std::string("mkdtemp: ") + std::strerror(errno));
  }
  m_dir = templ;
  std::filesystem::create_directory(m_dir / "services");
  const auto config = m_dir / "bus.conf";
  std::ofstream(config) << bus_config(m_dir);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    fail(std::string("pipe: ") + std::strerror(errno));
  }
  m_pid = ::fork();
  if (m_pid < 0) {
    fail(std::string("fork: ") + std::strerror(errno));
  }
  if (m_pid == 0) {
    ::dup2(pipe_fds[1], 3); // dup2 clears O_CLOEXEC on fd 3
    // Its chatter (e.g. "Failed to set fd limit") goes to a log in the dir.
    const int log =
        ::open((m_dir / "bus.log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (log >= 0) {
      ::dup2(log, STDERR_FILENO);
    }
    const std::string config_arg = "--config-file=" + config.string();
    ::execl(k_dbus_daemon, k_dbus_daemon, config_arg.c_str(), "--print-address=3",
            "--nofork", "--nopidfile", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string output;
  char buffer[512];
  while (output.find('\n') == std::string::npos) {
    pollfd fd{pipe_fds[0], POLLIN, 0};
    if (::poll(&fd, 1, 5000) <= 0) {
      break;
    }
    const auto got = ::read(pipe_fds[0], buffer, sizeof(buffer));
    if (got <= 0) {
      break;
    }
    output.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(pipe_fds[0]);
  const auto newline = output.find('\n');
  if (newline == std::string::npos) {
    stop();
    fail("did not print its address within 5 s (config " + config.string() + ")");
  }
  m_address = output.substr(0, newline);
}

PrivateBus::~PrivateBus() {
  stop();
}

void PrivateBus::stop() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGTERM);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
  }
  if (!m_dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(m_dir, ignored);
    m_dir.clear();
  }
}

} // namespace stasis::test
