#include "tests/dbus/hostile_registry.hpp"

#include "remote/registry_client.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t k_huge_manifest_bytes = 64 << 20;

std::string response(const std::string& status, const std::string& headers,
                     const std::string& body) {
  return fmt::format("HTTP/1.1 {}\r\n{}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                     status, headers, body.size(), body);
}

// A stasis-like OCI manifest whose config is the blob `config` (of that size).
std::string manifest_with_config(const std::string& config, std::size_t size) {
  const std::string index = remote::digest_of(std::string("index"));
  return fmt::format(
      R"({{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("artifactType":"application/vnd.stasis.checkpoint.v1+json",)"
      R"("config":{{"mediaType":"application/vnd.stasis.checkpoint.v1+json","digest":"{}","size":{}}},)"
      R"("layers":[{{"mediaType":"application/vnd.stasis.index.v1","digest":"{}","size":5}}]}})",
      config, size, index);
}

} // namespace

HostileRegistry::HostileRegistry(Mode mode) : m_mode(mode) {
  m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (m_listen < 0 ||
      ::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(m_listen, 16) != 0 ||
      ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("hostile registry: cannot listen on 127.0.0.1");
  }
  m_port = ntohs(addr.sin_port);
  m_acceptor = std::thread([this] { accept_loop(); });
}

HostileRegistry::~HostileRegistry() {
  stop();
}

std::vector<std::string> HostileRegistry::requests() const {
  std::lock_guard lock(m_mutex);
  return m_requests;
}

void HostileRegistry::stop() {
  if (m_stopping.exchange(true)) {
    return;
  }
  if (m_acceptor.joinable()) {
    m_acceptor.join();
  }
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(m_mutex);
    for (int fd : m_connections) {
      ::shutdown(fd, SHUT_RDWR);
    }
    threads.swap(m_threads);
  }
  for (auto& t : threads) {
    t.join();
  }
  ::close(m_listen);
}

void HostileRegistry::accept_loop() {
  while (!m_stopping) {
    pollfd p{m_listen, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) {
      continue;
    }
    const int fd = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    std::lock_guard lock(m_mutex);
    m_connections.push_back(fd);
    m_threads.emplace_back([this, fd] {
      serve(fd);
      ::shutdown(fd, SHUT_RDWR);
    });
  }
}

bool HostileRegistry::send_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size() && !m_stopping) {
    const auto n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    done += static_cast<std::size_t>(n);
    m_sent += static_cast<std::size_t>(n);
  }
  return done == data.size();
}

void HostileRegistry::serve(int fd) {
  // The request's head (bounded); its body, if any, is not read.
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 64 * 1024 &&
         !m_stopping) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) {
      continue;
    }
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      return;
    }
    head.append(buffer, static_cast<std::size_t>(n));
  }
  const std::string line = head.substr(0, head.find("\r\n"));
  {
    std::lock_guard lock(m_mutex);
    m_requests.push_back(line);
  }
  const bool manifest = line.find("/manifests/") != std::string::npos;
  const std::string manifest_type =
      "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n";
  if (line.starts_with("GET /v2/ ") || (!manifest && m_mode != Mode::RedirectToFile)) {
    send_all(fd, response("200 OK", "", "{}"));
    return;
  }
  switch (m_mode) {
  case Mode::HugeManifest: {
    send_all(fd, fmt::format("HTTP/1.1 200 OK\r\n{}Content-Length: {}\r\n\r\n",
                             manifest_type, k_huge_manifest_bytes));
    const std::string block(64 * 1024, ' ');
    for (std::size_t sent = 0; sent < k_huge_manifest_bytes && !m_stopping;
         sent += block.size()) {
      if (!send_all(fd, block)) {
        return;
      }
    }
    return;
  }
  case Mode::RedirectToFile: {
    const std::string config = remote::digest_of(std::string("config"));
    if (manifest) {
      send_all(fd, response("200 OK", manifest_type, manifest_with_config(config, 6)));
    } else {
      send_all(fd, response("302 Found", "Location: file:///etc/shadow\r\n", ""));
    }
    return;
  }
  case Mode::SlowDrip: {
    send_all(fd, fmt::format("HTTP/1.1 200 OK\r\n{}Content-Length: {}\r\n\r\n",
                             manifest_type, k_huge_manifest_bytes));
    while (!m_stopping) {
      if (!send_all(fd, " ")) {
        return;
      }
      for (int i = 0; i < 4 && !m_stopping; ++i) {
        std::this_thread::sleep_for(50ms);
      }
    }
    return;
  }
  }
}

} // namespace stasis::test
