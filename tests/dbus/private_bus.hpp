// A private dbus-daemon for the dbus test tier: its own config and socket in
// a temp dir, everything allowed, killed by pid and removed on destruction.
// Never touches a system-installed bus or policy.
#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>

namespace stasis::test {

class PrivateBus {
public:
  // Starts dbus-daemon; throws std::runtime_error (failing the test loudly)
  // when dbus-daemon is missing or does not come up.
  PrivateBus();
  ~PrivateBus();

  PrivateBus(const PrivateBus&) = delete;
  PrivateBus& operator=(const PrivateBus&) = delete;

  // The address to connect to, e.g. "unix:path=/tmp/stasis-bus-XXXX/bus,guid=...".
  const std::string& address() const { return m_address; }

  // The temp dir (holds the socket and config); tests may put files there.
  // Its services/ dir is the bus's D-Bus activation dir (empty unless a test
  // puts a .service file there).
  const std::filesystem::path& dir() const { return m_dir; }

private:
  // Kills the daemon and removes the dir; idempotent.
  void stop();

  std::filesystem::path m_dir;
  std::string m_address;
  pid_t m_pid = -1;
};

} // namespace stasis::test
