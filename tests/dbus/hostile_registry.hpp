// A registry that attacks its client, for the attack tests of Push and Pull:
// plain HTTP on 127.0.0.1 (a free port), every request answered as its mode
// says. Each connection has a thread of its own; stop() (and the destructor)
// closes everything and joins them.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stasis::test {

class HostileRegistry {
public:
  enum class Mode {
    // A manifest of 64 MiB (Content-Length says so; the body never ends early).
    HugeManifest,
    // A valid manifest whose config blob redirects to file:///etc/shadow.
    RedirectToFile,
    // A manifest's headers, then one byte of its body every 200 ms, forever.
    SlowDrip,
  };

  explicit HostileRegistry(Mode mode);
  ~HostileRegistry();
  HostileRegistry(const HostileRegistry&) = delete;
  HostileRegistry& operator=(const HostileRegistry&) = delete;

  // "127.0.0.1:PORT".
  std::string host() const { return "127.0.0.1:" + std::to_string(m_port); }
  // Requests seen so far (their request lines, e.g. "GET /v2/x/manifests/t HTTP/1.1").
  std::vector<std::string> requests() const;
  // Bodies bytes sent so far (all connections).
  std::size_t bytes_sent() const { return m_sent; }
  // Closes the listening socket and every connection; idempotent.
  void stop();

private:
  void accept_loop();
  void serve(int fd);
  bool send_all(int fd, const std::string& data);

  Mode m_mode;
  int m_listen = -1;
  int m_port = 0;
  std::atomic<bool> m_stopping{false};
  std::atomic<std::size_t> m_sent{0};
  mutable std::mutex m_mutex;
  std::vector<std::string> m_requests;
  std::vector<int> m_connections;
  std::vector<std::thread> m_threads;
  std::thread m_acceptor;
};

} // namespace stasis::test
