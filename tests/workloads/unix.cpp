// stasis-wl-unix --dgram PATH --stream PATH: a client of two unix sockets
// that live outside its tree (an echo server the test runs). The datagram
// socket is connected to the --dgram path (autobound, so the server can
// answer); the stream socket is connected to the --stream path. Every tick
// sends the next u64 on both and reads the echoes. Verification checks that
// both sockets carry at least two more echoed values within 1 s and that
// every echo matched. Status adds dgram_echoes, stream_echoes.
// With --self-test-corrupt, SIGUSR2 makes the stream side expect a wrong echo.
#include "tests/workloads/workload_common.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace stasis::workloads {
namespace {

sockaddr_un address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    throw std::invalid_argument("socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

int connect_to(const std::string& path, int type) {
  const int sk = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (sk < 0) {
    throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  if (type == SOCK_DGRAM) {
    sockaddr_un self{};
    self.sun_family = AF_UNIX;
    // Autobind to an abstract name, so the server can send the echo back.
    if (::bind(sk, reinterpret_cast<sockaddr*>(&self), sizeof(sa_family_t)) != 0) {
      throw std::runtime_error(std::string("autobind: ") + std::strerror(errno));
    }
  }
  const auto addr = address_of(path);
  if (::connect(sk, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("connect " + path + ": " + std::strerror(errno));
  }
  return sk;
}

// One echoed value over a connected socket: one write, one read (1 s max).
// Returns "" or the reason it failed.
std::string echo(int sk, std::uint64_t value, std::uint64_t& answer) {
  if (::send(sk, &value, sizeof value, MSG_NOSIGNAL) != sizeof value) {
    return std::string("send: ") + std::strerror(errno);
  }
  std::size_t got = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(&answer);
  while (got < sizeof answer) {
    pollfd pfd{sk, POLLIN, 0};
    if (::poll(&pfd, 1, 1000) <= 0) {
      return "no echo within 1 s";
    }
    const ssize_t n = ::recv(sk, bytes + got, sizeof answer - got, 0);
    if (n <= 0) {
      return n == 0 ? "the peer closed the connection"
                    : std::string("recv: ") + std::strerror(errno);
    }
    got += static_cast<std::size_t>(n);
  }
  return {};
}

class UnixProgram final : public Program {
public:
  UnixProgram(const std::string& dgram, const std::string& stream)
      : m_dgram(connect_to(dgram, SOCK_DGRAM)),
        m_stream(connect_to(stream, SOCK_STREAM)) {}
  ~UnixProgram() override { shutdown(); }

  void tick() override { exchange(); }

  std::string verify() override {
    const std::uint64_t dgram_target = m_dgram_echoes + 2;
    const std::uint64_t stream_target = m_stream_echoes + 2;
    while (m_error.empty() &&
           (m_dgram_echoes < dgram_target || m_stream_echoes < stream_target)) {
      exchange();
    }
    return m_error;
  }

  void step(bool corrupt) override {
    if (corrupt) {
      m_skew = 1;
    }
  }

  void report(Status& status) const override {
    status.set("dgram_echoes", m_dgram_echoes);
    status.set("stream_echoes", m_stream_echoes);
  }

  void shutdown() override {
    for (int* fd : {&m_dgram, &m_stream}) {
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
    }
  }

private:
  void exchange() {
    if (!m_error.empty()) {
      return;
    }
    std::uint64_t answer = 0;
    std::uint64_t value = m_dgram_echoes + 1;
    if (auto failed = echo(m_dgram, value, answer); !failed.empty()) {
      m_error = "datagram socket: " + failed;
      return;
    }
    if (answer != value) {
      m_error =
          "datagram echo " + std::to_string(answer) + " for " + std::to_string(value);
      return;
    }
    ++m_dgram_echoes;
    value = m_stream_echoes + 1;
    if (auto failed = echo(m_stream, value, answer); !failed.empty()) {
      m_error = "stream socket: " + failed;
      return;
    }
    if (answer + m_skew != value) {
      m_error = "stream echo " + std::to_string(answer + m_skew) + " for " +
                std::to_string(value);
      return;
    }
    ++m_stream_echoes;
  }

  int m_dgram = -1;
  int m_stream = -1;
  std::uint64_t m_dgram_echoes = 0;
  std::uint64_t m_stream_echoes = 0;
  std::uint64_t m_skew = 0;
  std::string m_error;
};

} // namespace
} // namespace stasis::workloads

int main(int argc, char** argv) {
  using namespace stasis::workloads;
  return workload_main(
      argc, argv, {"dgram", "stream"},
      [](const Options& options) -> std::unique_ptr<Program> {
        const auto dgram = options.extra.find("dgram");
        const auto stream = options.extra.find("stream");
        if (dgram == options.extra.end() || stream == options.extra.end()) {
          throw std::invalid_argument("--dgram PATH and --stream PATH are required");
        }
        return std::make_unique<UnixProgram>(dgram->second, stream->second);
      });
}
