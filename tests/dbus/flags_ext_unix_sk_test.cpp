// CRIU --ext-unix-sk and external stream unix connections through stasisd:
// policy examples/flags/ext-unix-sk.yaml, workload stasis-wl-unix (a client
// of a datagram and a stream echo server that this test runs outside the
// checkpointed tree).
#include "tests/dbus/flags_support.hpp"

#include <atomic>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

int bound_socket(const fs::path& path, int type) {
  const int sk = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (sk < 0 || ::bind(sk, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      (type == SOCK_STREAM && ::listen(sk, 8) != 0)) {
    throw std::runtime_error("cannot serve " + path.string() + ": " +
                             std::strerror(errno));
  }
  return sk;
}

// Echo servers on a datagram and a stream unix socket, run by a thread of the
// test (so outside the checkpointed tree) until destruction.
class EchoServers {
public:
  EchoServers(const fs::path& dgram, const fs::path& stream)
      : m_dgram(bound_socket(dgram, SOCK_DGRAM)),
        m_listener(bound_socket(stream, SOCK_STREAM)), m_thread([this] { serve(); }) {}
  ~EchoServers() {
    m_stop = true;
    m_thread.join();
    for (int fd : m_connections) {
      ::close(fd);
    }
    ::close(m_dgram);
    ::close(m_listener);
  }
  EchoServers(const EchoServers&) = delete;
  EchoServers& operator=(const EchoServers&) = delete;

  // Stream connections accepted so far (a restore brings a fresh one).
  int accepted() const { return m_accepted; }

private:
  void serve() {
    while (!m_stop) {
      std::vector<pollfd> fds{{m_dgram, POLLIN, 0}, {m_listener, POLLIN, 0}};
      for (int fd : m_connections) {
        fds.push_back({fd, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 50) <= 0) {
        continue;
      }
      char buffer[256];
      if (fds[0].revents & POLLIN) {
        sockaddr_un from{};
        socklen_t length = sizeof from;
        const ssize_t n = ::recvfrom(m_dgram, buffer, sizeof buffer, MSG_DONTWAIT,
                                     reinterpret_cast<sockaddr*>(&from), &length);
        if (n > 0) {
          ::sendto(m_dgram, buffer, static_cast<size_t>(n), MSG_DONTWAIT,
                   reinterpret_cast<sockaddr*>(&from), length);
        }
      }
      if (fds[1].revents & POLLIN) {
        const int fd = ::accept4(m_listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
          m_connections.push_back(fd);
          ++m_accepted;
        }
      }
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents == 0) {
          continue;
        }
        const ssize_t n = ::recv(fds[i].fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) {
          ::send(fds[i].fd, buffer, static_cast<size_t>(n), MSG_NOSIGNAL);
        } else if (n == 0) {
          ::close(fds[i].fd);
          std::erase(m_connections, fds[i].fd);
        }
      }
    }
  }

  int m_dgram;
  int m_listener;
  std::vector<int> m_connections;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_accepted{0};
  std::thread m_thread;
};

class AnExtUnixSkJob : public FlagsTest {};

TEST_F(AnExtUnixSkJob, ReconnectsItsDatagramAndStreamSocketsAfterARestore) {
  const auto dgram = dir() / "echo-dgram.sock";
  const auto stream = dir() / "echo-stream.sock";
  EchoServers servers(dgram, stream);
  auto workload = Workload::start(
      "stasis-wl-unix", {"--dgram", dgram.string(), "--stream", stream.string()},
      dir() / "wl");
  ASSERT_EQ(workload.verify(), "");
  const auto pidfile = write_pidfile("unix", workload.pid());
  install_example("ext-unix-sk", {{"/run/stasis-examples/ext-unix-sk.pid", pidfile},
                                  {"/run/stasis-examples/echo-stream.sock", stream}});
  install_job("unset.yaml",
              pidfile_job("unix-unset", pidfile) +
                  pidfile_job("unix-no-stream", pidfile, "criu:\n  ext-unix-sk: true"));
  start_daemon();

  // Without ext-unix-sk: the key is named.
  auto refused = checkpoint("unix-unset");
  EXPECT_EQ(refused.state, manager::RunState::Failed);
  EXPECT_NE(refused.error.find("set `criu.ext-unix-sk: true`"), std::string::npos)
      << refused.error;
  // With it but without the stream socket's path: the path to list is named.
  refused = checkpoint("unix-no-stream");
  EXPECT_EQ(refused.state, manager::RunState::Failed);
  EXPECT_NE(refused.error.find(
                "set `criu.external-unix-sockets: [{path: " + stream.string() + "}]`"),
            std::string::npos)
      << refused.error;
  EXPECT_EQ(workload.verify(), "");

  auto dumped = checkpoint("ext-unix-sk");
  ASSERT_EQ(dumped.state, manager::RunState::Succeeded) << dumped.error << "\n" << log();
  workload.reap_after_dump();
  auto restored = restore("ext-unix-sk");
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  workload.adopt(restored.pid);
  EXPECT_EQ(workload.verify(), "");
  // The restored stream socket is the fresh connection stasis made.
  EXPECT_EQ(servers.accepted(), 2);
}

} // namespace
} // namespace stasis::test
