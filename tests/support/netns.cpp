#include "tests/support/netns.hpp"

#include "tests/support/process.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace stasis::test {
namespace {

constexpr const char* k_ip = "/usr/sbin/ip";

void run_ip(std::vector<std::string> args) {
  args.insert(args.begin(), k_ip);
  auto r = run_command(args);
  if (r.exit_code != 0) {
    std::string line;
    for (const auto& a : args) {
      line += a + " ";
    }
    throw std::runtime_error("network namespaces: '" + line + "' failed (exit " +
                             std::to_string(r.exit_code) + ") " + r.error);
  }
}

std::string unique_name(std::string_view what) {
  static std::atomic<int> counter{0};
  return "stasis-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" +
         std::string(what);
}

} // namespace

NetNamespace::NetNamespace(std::string_view what) : m_name(unique_name(what)) {
  if (::access(k_ip, X_OK) != 0) {
    throw std::runtime_error("network namespaces: /usr/sbin/ip is missing (iproute2)");
  }
  run_ip({"netns", "add", m_name});
  try {
    ip({"link", "set", "lo", "up"});
  } catch (...) {
    run_command({k_ip, "netns", "del", m_name});
    throw;
  }
}

NetNamespace::~NetNamespace() {
  run_command({k_ip, "netns", "del", m_name});
}

void NetNamespace::ip(const std::vector<std::string>& args) const {
  std::vector<std::string> all{"-n", m_name};
  all.insert(all.end(), args.begin(), args.end());
  run_ip(all);
}

void link_namespaces(const NetNamespace& a, const std::string& a_if,
                     const std::string& a_cidr, const NetNamespace& b,
                     const std::string& b_if, const std::string& b_cidr) {
  run_ip({"link", "add", a_if, "netns", a.name(), "type", "veth", "peer", "name", b_if,
          "netns", b.name()});
  a.ip({"addr", "add", a_cidr, "dev", a_if});
  b.ip({"addr", "add", b_cidr, "dev", b_if});
  a.ip({"link", "set", a_if, "up"});
  b.ip({"link", "set", b_if, "up"});
}

InNetns::InNetns(const NetNamespace& ns) {
  m_previous = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const int target = ::open(ns.path().c_str(), O_RDONLY | O_CLOEXEC);
  if (m_previous < 0 || target < 0 || ::setns(target, CLONE_NEWNET) != 0) {
    const std::string why = std::strerror(errno);
    if (target >= 0) {
      ::close(target);
    }
    if (m_previous >= 0) {
      ::close(m_previous);
    }
    throw std::runtime_error("network namespaces: cannot enter " + ns.name() + ": " +
                             why);
  }
  ::close(target);
}

InNetns::~InNetns() {
  // Back to where the thread was; failing here would leave the test process
  // in the wrong namespace, which no later test could survive.
  if (::setns(m_previous, CLONE_NEWNET) != 0) {
    std::abort();
  }
  ::close(m_previous);
}

bool tcp_answers(const NetNamespace& ns, const std::string& address, int port) {
  InNetns inside(ns);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (fd < 0 || ::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    if (fd >= 0) {
      ::close(fd);
    }
    return false;
  }
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

} // namespace stasis::test
