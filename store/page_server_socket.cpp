#include "store/page_server_socket.hpp"

#include "store/page_server_wire.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace stasis::store::page_server {
namespace {

constexpr int k_poll_slice_ms = 100;

// Waits until fd is readable; false when stop was requested.
Result<bool> wait_readable(int fd, const std::stop_token& stop, int timeout_ms) {
  for (int waited = 0;;) {
    if (stop.stop_requested()) {
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    int slice =
        timeout_ms < 0 ? k_poll_slice_ms : std::min(k_poll_slice_ms, timeout_ms - waited);
    int ready = ::poll(&p, 1, slice);
    if (ready > 0) {
      return true;
    }
    if (ready < 0 && errno != EINTR) {
      return make_error("cannot wait on the page server socket: {}", errno_text());
    }
    waited += slice;
    if (timeout_ms >= 0 && waited >= timeout_ms) {
      return make_error("timed out after {} ms", timeout_ms);
    }
  }
}

} // namespace

std::string command_name(std::uint32_t command) {
  switch (command) {
  case k_add:
    return "ADD";
  case k_hole:
    return "HOLE";
  case k_open:
    return "OPEN";
  case k_open2:
    return "OPEN2";
  case k_parent:
    return "PARENT";
  case k_add_f:
    return "ADD_F";
  case k_get:
    return "GET";
  case k_close:
    return "CLOSE";
  case k_force_close:
    return "FORCE_CLOSE";
  default:
    return fmt::format("{:#x}", command);
  }
}

std::string pagemap_name(std::uint32_t type, std::uint64_t id) {
  if (type == k_type_pid) {
    return fmt::format("pagemap-{}.img", id);
  }
  if (type == k_type_shmem) {
    return fmt::format("pagemap-shmem-{}.img", id);
  }
  return "";
}

Result<bool> read_full(int fd, std::span<std::uint8_t> out, bool eof_ok,
                       const std::stop_token& stop) {
  std::size_t got = 0;
  while (got < out.size()) {
    if (stop.stop_possible() && !STASIS_TRY(wait_readable(fd, stop, -1))) {
      return make_error("stopped while waiting for CRIU");
    }
    ssize_t n = ::recv(fd, out.data() + got, out.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_error("cannot read from CRIU: {}", errno_text());
    }
    if (n == 0) {
      if (got == 0 && eof_ok) {
        return false;
      }
      return make_error("CRIU closed the connection in the middle of a message ({} of "
                        "{} bytes)",
                        got, out.size());
    }
    got += static_cast<std::size_t>(n);
  }
  return true;
}

Result<void> send_full(int fd, std::span<const std::uint8_t> data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_error("cannot write to CRIU: {}", errno_text());
    }
    sent += static_cast<std::size_t>(n);
  }
  return ok();
}

Result<Listener> Listener::loopback(const std::string& address, std::uint16_t port) {
  std::string host = address.empty() || address == "localhost" ? "127.0.0.1" : address;
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family = AF_INET;
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    if ((ntohl(v4.s_addr) >> 24) != 127) {
      return make_error("page server address {} is not a loopback address; stasis only "
                        "listens on 127.0.0.0/8, ::1 or a unix socket",
                        address);
    }
    auto* sa = reinterpret_cast<sockaddr_in*>(&storage);
    sa->sin_family = AF_INET;
    sa->sin_addr = v4;
    sa->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6)) {
      return make_error("page server address {} is not a loopback address; stasis only "
                        "listens on 127.0.0.0/8, ::1 or a unix socket",
                        address);
    }
    family = AF_INET6;
    auto* sa = reinterpret_cast<sockaddr_in6*>(&storage);
    sa->sin6_family = AF_INET6;
    sa->sin6_addr = v6;
    sa->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    return make_error("page server address '{}' is not an IP address (use 127.0.0.1)",
                      address);
  }
  util::UniqueFd fd{::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (!fd) {
    return make_error("cannot create the page server socket: {}", errno_text());
  }
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), len) != 0) {
    return make_error("cannot listen on {}:{}: {}", host, port, errno_text());
  }
  if (::listen(fd.get(), 4) != 0) {
    return make_error("cannot listen on {}:{}: {}", host, port, errno_text());
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_len);
  std::uint16_t actual = family == AF_INET
                             ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                             : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return Listener(std::move(fd), host, actual);
}

Result<Listener> Listener::unix_socket(const fs::path& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof(sa.sun_path)) {
    return make_error("unix socket path {} is too long", path.string());
  }
  std::memcpy(sa.sun_path, path.c_str(), path.string().size());
  util::UniqueFd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (!fd) {
    return make_error("cannot create the page server socket: {}", errno_text());
  }
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
      ::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), 4) != 0) {
    return make_error("cannot listen on {}: {}", path.string(), errno_text());
  }
  return Listener(std::move(fd), path.string(), 0);
}

Result<util::UniqueFd> Listener::accept(std::chrono::milliseconds timeout,
                                        const std::stop_token& stop) const {
  auto ready = wait_readable(m_fd.get(), stop, static_cast<int>(timeout.count()));
  if (!ready) {
    return make_error("no connection from CRIU on {}: {}", m_address,
                      ready.error().message);
  }
  if (!*ready) {
    return make_error("stopped while waiting for CRIU to connect");
  }
  util::UniqueFd conn{::accept4(m_fd.get(), nullptr, nullptr, SOCK_CLOEXEC)};
  if (!conn) {
    return make_error("cannot accept a connection on {}: {}", m_address, errno_text());
  }
  int one = 1;
  ::setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return conn;
}

} // namespace stasis::store::page_server
