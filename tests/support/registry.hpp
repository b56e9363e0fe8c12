// A real OCI registry for tests: Debian's docker-registry (CNCF Distribution)
// on 127.0.0.1 with a free port, filesystem storage in a temp dir, deletes
// enabled, htpasswd auth and TLS with a CA made by the openssl CLI. It may
// instead listen on an address inside a network namespace (tests that play
// several hosts on one machine; tests/support/netns.hpp).
#pragma once

#include "tests/support/netns.hpp"
#include "tests/support/temp_dir.hpp"

#include <filesystem>
#include <string>
#include <sys/types.h>

namespace stasis::test {

class TestRegistry {
public:
  // Starts the registry and waits until it answers; throws std::runtime_error
  // (with the registry's log) when it cannot.
  TestRegistry();
  // Listens on address:port inside netns (which must outlive it); its
  // certificate names that IP address.
  TestRegistry(const NetNamespace& netns, std::string address, int port = 5000);
  ~TestRegistry();
  TestRegistry(const TestRegistry&) = delete;
  TestRegistry& operator=(const TestRegistry&) = delete;

  static constexpr const char* k_binary = "/usr/bin/docker-registry";
  static constexpr const char* k_user = "stasis";
  static constexpr const char* k_password = "s3cret-pass";

  // "ADDRESS:PORT" ("127.0.0.1:PORT" by default).
  std::string host() const;
  // PEM of the CA that signed the server's certificate.
  const std::string& ca_pem() const { return m_ca_pem; }
  // The registry's storage root (docker/registry/v2/... below it).
  std::filesystem::path storage() const { return m_dir.path() / "storage"; }
  // Stops the registry (SIGKILL, reaped); idempotent.
  void stop();
  // Starts it again on the same port and storage.
  void restart();

private:
  void configure();
  void start();
  bool answers() const;

  TempDir m_dir;
  const NetNamespace* m_netns = nullptr;
  std::string m_address = "127.0.0.1";
  int m_port = 0;
  pid_t m_pid = -1;
  std::string m_ca_pem;
};

// A TCP port on 127.0.0.1 that nothing listens on now.
int free_port();

} // namespace stasis::test
