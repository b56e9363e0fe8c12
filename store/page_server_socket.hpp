// Sockets of stasis's page server: exact reads and writes, and a listener that
// only ever binds to a loopback address or a unix socket.
#pragma once

#include "store/fs_util.hpp"

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string>

namespace stasis::store::page_server {

// Reads exactly out.size() bytes. Returns false on a clean end of stream before
// the first byte (when eof_ok), an error on a short read or a socket error.
// Waits in slices so that a stop request ends the wait (as an error).
Result<bool> read_full(int fd, std::span<std::uint8_t> out, bool eof_ok,
                       const std::stop_token& stop = {});

// Writes all of data (no SIGPIPE).
Result<void> send_full(int fd, std::span<const std::uint8_t> data);

// A listening socket for CRIU to connect to.
class Listener {
public:
  // Listens on a loopback address ("127.0.0.1", "::1", "localhost"); port 0 picks
  // a free one. Any other address is refused: pages must not leave the host.
  static Result<Listener> loopback(const std::string& address, std::uint16_t port);
  // Listens on a unix stream socket at path (replaced if present, mode 0600).
  static Result<Listener> unix_socket(const fs::path& path);

  std::uint16_t port() const { return m_port; }
  const std::string& address() const { return m_address; }
  int fd() const { return m_fd.get(); }

  // Accepts one connection; fails after timeout or when stop is requested.
  Result<util::UniqueFd> accept(std::chrono::milliseconds timeout,
                                const std::stop_token& stop = {}) const;

private:
  Listener(util::UniqueFd fd, std::string address, std::uint16_t port)
      : m_fd(std::move(fd)), m_address(std::move(address)), m_port(port) {}
  util::UniqueFd m_fd;
  std::string m_address;
  std::uint16_t m_port = 0;
};

} // namespace stasis::store::page_server
