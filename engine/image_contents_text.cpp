#include "engine/image_contents_text.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

namespace stasis::engine::image_text {
namespace {

// CRIU's VMA_* status bits (criu/include/image.h).
constexpr std::uint32_t k_vma_stack = 1U << 1;
constexpr std::uint32_t k_vma_vsyscall = 1U << 2;
constexpr std::uint32_t k_vma_vdso = 1U << 3;
constexpr std::uint32_t k_vma_heap = 1U << 5;
constexpr std::uint32_t k_vma_file_private = 1U << 6;
constexpr std::uint32_t k_vma_file_shared = 1U << 7;
constexpr std::uint32_t k_vma_anon_shared = 1U << 8;
constexpr std::uint32_t k_vma_sysvipc = 1U << 10;
constexpr std::uint32_t k_vma_socket = 1U << 11;
constexpr std::uint32_t k_vma_vvar = 1U << 12;
constexpr std::uint32_t k_vma_aioring = 1U << 13;
constexpr std::uint32_t k_vma_memfd = 1U << 14;

} // namespace

std::string address_text(std::uint32_t family,
                         const google::protobuf::RepeatedField<std::uint32_t>& words,
                         std::uint32_t port) {
  char text[INET6_ADDRSTRLEN] = "?";
  // The words hold the address bytes as the kernel gave them (network order).
  if (family == AF_INET && words.size() >= 1) {
    in_addr a{};
    std::memcpy(&a, words.data(), sizeof a);
    ::inet_ntop(AF_INET, &a, text, sizeof text);
    return fmt::format("{}:{}", text, port);
  }
  if (family == AF_INET6 && words.size() >= 4) {
    in6_addr a{};
    std::memcpy(&a, words.data(), sizeof a);
    ::inet_ntop(AF_INET6, &a, text, sizeof text);
    return fmt::format("[{}]:{}", text, port);
  }
  return fmt::format("?:{}", port);
}

// Linux's TCP_* states, which CRIU also records for unix sockets.
std::string state_text(std::uint32_t state) {
  static constexpr const char* names[] = {
      "",          "established", "syn-sent",   "syn-recv", "fin-wait1", "fin-wait2",
      "time-wait", "close",       "close-wait", "last-ack", "listen",    "closing"};
  return state < std::size(names) ? names[state] : fmt::format("state-{}", state);
}

std::string socket_type_text(std::uint32_t type) {
  switch (type) {
  case SOCK_STREAM:
    return "stream";
  case SOCK_DGRAM:
    return "dgram";
  case SOCK_SEQPACKET:
    return "seqpacket";
  case SOCK_RAW:
    return "raw";
  default:
    return fmt::format("type-{}", type);
  }
}

SocketInfo inet_socket(const images::InetSkEntry& sk) {
  SocketInfo info;
  info.id = sk.id();
  const char* base = sk.proto() == IPPROTO_TCP   ? "tcp"
                     : sk.proto() == IPPROTO_UDP ? "udp"
                                                 : "inet";
  info.kind = std::string(base) + (sk.family() == AF_INET6 ? "6" : "");
  info.state = state_text(sk.state());
  info.local = address_text(sk.family(), sk.src_addr(), sk.src_port());
  if (sk.dst_port() != 0) {
    info.remote = address_text(sk.family(), sk.dst_addr(), sk.dst_port());
  }
  return info;
}

// A unix socket's name: a path, "@name" when abstract, "" when unnamed.
std::string unix_name(const images::UnixSkEntry& sk) {
  std::string name = sk.name();
  if (!name.empty() && name[0] == '\0') {
    name[0] = '@';
    std::replace(name.begin(), name.end(), '\0', '@');
    return name;
  }
  if (!name.empty() && name[0] != '/' && !sk.name_dir().empty()) {
    name = sk.name_dir() + "/" + name;
  }
  return name;
}

SocketInfo unix_socket(const images::UnixSkEntry& sk,
                       const std::map<std::uint32_t, std::string>& names_by_ino) {
  SocketInfo info;
  info.id = sk.id();
  info.kind = "unix-" + socket_type_text(sk.type());
  info.state = state_text(sk.state());
  info.local = unix_name(sk);
  if (sk.deleted()) {
    info.local += " (deleted)";
  }
  if (sk.peer() != 0) {
    auto it = names_by_ino.find(sk.peer());
    info.remote = it != names_by_ino.end() && !it->second.empty()
                      ? it->second
                      : fmt::format("socket ino {}", sk.peer());
  }
  return info;
}

std::string fd_type_text(std::uint32_t type) {
  static constexpr const char* names[] = {
      "unknown", "file",    "pipe",     "fifo",    "inet",  "unix",     "eventfd",
      "epoll",   "inotify", "signalfd", "packet",  "tty",   "fanotify", "netlink",
      "ns",      "tun",     "external", "timerfd", "memfd", "bpfmap",   "pidfd"};
  return type < std::size(names) ? names[type] : fmt::format("type-{}", type);
}

std::string mapping_kind(std::uint32_t status) {
  if (status & k_vma_vdso) {
    return "vdso";
  }
  if (status & k_vma_vvar) {
    return "vvar";
  }
  if (status & k_vma_vsyscall) {
    return "vsyscall";
  }
  if (status & k_vma_stack) {
    return "stack";
  }
  if (status & k_vma_heap) {
    return "heap";
  }
  if (status & k_vma_sysvipc) {
    return "sysv-shm";
  }
  if (status & k_vma_aioring) {
    return "aio";
  }
  if (status & k_vma_socket) {
    return "socket";
  }
  if (status & k_vma_memfd) {
    return "memfd";
  }
  if (status & k_vma_file_shared) {
    return "file-shared";
  }
  if (status & k_vma_file_private) {
    return "file";
  }
  if (status & k_vma_anon_shared) {
    return "shared";
  }
  return "anon";
}

std::string arch_text(std::uint32_t mtype) {
  static constexpr const char* names[] = {"unknown", "x86_64", "arm",
                                          "aarch64", "ppc64",  "s390"};
  return mtype < std::size(names) ? names[mtype] : fmt::format("march-{}", mtype);
}

} // namespace stasis::engine::image_text
