// Network namespaces for tests that play several hosts on one machine: named
// namespaces (ip netns add, removed again), veth pairs between them with
// 10.x addresses, and a scope that moves the calling thread into one, so that
// what it forks (a daemon, a registry, a workload) starts there. Unix sockets
// with a path (the private buses) reach across namespaces; TCP does not.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stasis::test {

// A named network namespace (/run/netns/NAME) with its loopback up; deleted
// by the destructor (the kernel drops it, and its veths, once its last
// process is gone). Names are unique per test process: "stasis-PID-N-what".
class NetNamespace {
public:
  // Throws std::runtime_error (with ip's message) when it cannot be made.
  explicit NetNamespace(std::string_view what);
  ~NetNamespace();
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;

  const std::string& name() const { return m_name; }
  std::string path() const { return "/run/netns/" + m_name; }
  // Runs `ip -n NAME args...`; throws std::runtime_error when it fails.
  void ip(const std::vector<std::string>& args) const;

private:
  std::string m_name;
};

// Connects two namespaces with a veth pair made inside them (so the
// interface names need only be unique there): a_if with a_cidr in a, b_if
// with b_cidr in b, both up. Throws std::runtime_error when ip fails.
void link_namespaces(const NetNamespace& a, const std::string& a_if,
                     const std::string& a_cidr, const NetNamespace& b,
                     const std::string& b_if, const std::string& b_cidr);

// Moves the calling thread into a network namespace until the scope ends
// (setns; only this thread moves). Children forked meanwhile start there.
class InNetns {
public:
  explicit InNetns(const NetNamespace& ns);
  ~InNetns();
  InNetns(const InNetns&) = delete;
  InNetns& operator=(const InNetns&) = delete;

private:
  int m_previous = -1;
};

// True when something listens on address:port as seen from the namespace.
bool tcp_answers(const NetNamespace& ns, const std::string& address, int port);

} // namespace stasis::test
