// stasis-wl-tcp [--netns PATH]: a TCP server and its client in one tree. With
// --netns the program first joins that network namespace (as nsenter --net=
// would) and brings its loopback up. The parent listens on 127.0.0.1 (a free
// port), forks the client, accepts its one connection and closes the
// listener; then it sends 1, 2, 3, ... (u64) and the client echoes each value
// back. Verification checks that the client is alive, every echo matched and
// at least two more round trips complete within 1 s (the connection still
// carries data). Status adds port, round_trips, child_pid.
// With --self-test-corrupt, SIGUSR2 makes the parent expect a wrong echo.
#include "tests/workloads/workload_common.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdexcept>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace stasis::workloads {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

void join_netns(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail("open " + path);
  }
  if (::setns(fd, CLONE_NEWNET) != 0) {
    fail("setns " + path);
  }
  ::close(fd);
  const int sk = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (sk < 0 || ::ioctl(sk, SIOCGIFFLAGS, &ifr) != 0) {
    fail("SIOCGIFFLAGS lo");
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sk, SIOCSIFFLAGS, &ifr) != 0) {
    fail("SIOCSIFFLAGS lo up");
  }
  ::close(sk);
}

bool transfer(int fd, void* data, bool out) {
  auto* bytes = static_cast<unsigned char*>(data);
  std::size_t done = 0;
  while (done < sizeof(std::uint64_t)) {
    const ssize_t n = out ? ::write(fd, bytes + done, sizeof(std::uint64_t) - done)
                          : ::read(fd, bytes + done, sizeof(std::uint64_t) - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// The client: echoes every value until the connection ends.
[[noreturn]] void client_main(std::uint16_t port) {
  const int sk = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (sk < 0 || ::connect(sk, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::_exit(1);
  }
  for (;;) {
    std::uint64_t value = 0;
    if (!transfer(sk, &value, false) || !transfer(sk, &value, true)) {
      ::_exit(0);
    }
  }
}

class TcpProgram final : public Program {
public:
  explicit TcpProgram(const std::string& netns) {
    if (!netns.empty()) {
      join_netns(netns);
    }
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    if (listener < 0 ||
        ::bind(listener, reinterpret_cast<sockaddr*>(&addr), length) != 0 ||
        ::listen(listener, 1) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
      fail("listen on 127.0.0.1");
    }
    m_port = ntohs(addr.sin_port);
    m_child = fork_helper();
    if (m_child == 0) {
      ::close(listener);
      client_main(m_port);
    }
    m_socket = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (m_socket < 0) {
      fail("accept");
    }
    ::close(listener);
    const int one = 1;
    ::setsockopt(m_socket, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // A stalled connection fails a round trip instead of hanging the loop.
    const timeval limit{2, 0};
    ::setsockopt(m_socket, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(m_socket, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  }
  ~TcpProgram() override { shutdown(); }

  void tick() override { round_trip(); }

  std::string verify() override {
    const std::uint64_t target = m_round_trips + 2;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (m_error.empty() && m_round_trips < target &&
           std::chrono::steady_clock::now() < deadline) {
      round_trip();
    }
    if (!m_error.empty()) {
      return m_error;
    }
    if (m_round_trips < target) {
      return "the connection carried no data for 1 s (round trips " +
             std::to_string(m_round_trips) + ")";
    }
    int status = 0;
    if (::waitpid(m_child, &status, WNOHANG) != 0) {
      return "client " + std::to_string(m_child) + " is gone";
    }
    return {};
  }

  void step(bool corrupt) override {
    if (corrupt) {
      m_skew = 1;
    }
  }

  void report(Status& status) const override {
    status.set("port", static_cast<std::uint64_t>(m_port));
    status.set("round_trips", m_round_trips);
    status.set("child_pid", static_cast<std::uint64_t>(m_child));
  }

  void shutdown() override {
    if (m_socket >= 0) {
      ::close(m_socket);
      m_socket = -1;
    }
    if (m_child > 0) {
      ::kill(m_child, SIGKILL);
      ::waitpid(m_child, nullptr, 0);
      m_child = -1;
    }
  }

private:
  // One value out and its echo back (blocking; the client answers at once).
  void round_trip() {
    if (!m_error.empty() || m_socket < 0) {
      return;
    }
    std::uint64_t value = m_round_trips + 1;
    std::uint64_t echo = 0;
    if (!transfer(m_socket, &value, true) || !transfer(m_socket, &echo, false)) {
      m_error = "the connection broke: " + std::string(std::strerror(errno));
      return;
    }
    if (echo + m_skew != value) {
      m_error = "sent " + std::to_string(value) + ", the client echoed " +
                std::to_string(echo + m_skew);
      return;
    }
    ++m_round_trips;
  }

  std::uint16_t m_port = 0;
  pid_t m_child = -1;
  int m_socket = -1;
  std::uint64_t m_round_trips = 0;
  std::uint64_t m_skew = 0;
  std::string m_error;
};

} // namespace
} // namespace stasis::workloads

int main(int argc, char** argv) {
  using namespace stasis::workloads;
  return workload_main(argc, argv, {"netns"},
                       [](const Options& options) -> std::unique_ptr<Program> {
                         const auto netns = options.extra.find("netns");
                         return std::make_unique<TcpProgram>(
                             netns == options.extra.end() ? "" : netns->second);
                       });
}
