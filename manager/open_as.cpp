#include "manager/open_as.hpp"

#include "manager/privileges.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::manager {
namespace {

// What the child reports: 0 and a descriptor, or the errno of the step that
// failed (1: dropping rights, 2: the open or connect).
struct Report {
  int step = 0;
  int error = 0;
};

void send_report(int channel, Report report, int fd) {
  iovec iov{&report, sizeof report};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
  if (fd >= 0) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* header = CMSG_FIRSTHDR(&msg);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof fd);
  }
  (void)::sendmsg(channel, &msg, MSG_NOSIGNAL);
}

Result<Report> receive_report(int channel, util::UniqueFd& fd) {
  pollfd waiting{channel, POLLIN, 0};
  const int ready =
      ::poll(&waiting, 1,
             static_cast<int>(std::chrono::milliseconds(k_open_as_timeout).count()));
  if (ready <= 0) {
    return make_error("it took more than {} s", k_open_as_timeout.count());
  }
  Report report;
  iovec iov{&report, sizeof report};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  const ssize_t got = ::recvmsg(channel, &msg, MSG_CMSG_CLOEXEC);
  if (got != static_cast<ssize_t>(sizeof report)) {
    return make_error("the child opening it died");
  }
  for (cmsghdr* header = CMSG_FIRSTHDR(&msg); header != nullptr;
       header = CMSG_NXTHDR(&msg, header)) {
    if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
      int received = -1;
      std::memcpy(&received, CMSG_DATA(header), sizeof received);
      fd.reset(received);
    }
  }
  return report;
}

// Runs `open` (returns a descriptor or -errno) in a child with the user's
// rights and returns what it opened.
template <typename Open>
Result<util::UniqueFd> in_child_as(const UserIdentity& user, const std::string& what,
                                   Open open) {
  std::array<int, 2> pair{};
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair.data()) != 0) {
    return make_error("{}: socketpair: {}", what, std::strerror(errno));
  }
  util::UniqueFd ours(pair[0]);
  util::UniqueFd theirs(pair[1]);
  const pid_t child = ::fork();
  if (child < 0) {
    return make_error("{}: fork: {}", what, std::strerror(errno));
  }
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (!drop_to_user_without_caps(user)) {
      send_report(theirs.get(), {1, errno}, -1);
      ::_exit(1);
    }
    const int fd = open();
    send_report(theirs.get(), fd < 0 ? Report{2, -fd} : Report{}, fd);
    ::_exit(0);
  }
  theirs.reset();
  util::UniqueFd fd;
  auto report = receive_report(ours.get(), fd);
  if (!report) {
    ::kill(child, SIGKILL);
  }
  while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  const std::string whose = fmt::format("with the rights of uid {}", user.uid);
  if (!report) {
    return make_error("{} {}: {}", what, whose, report.error().message);
  }
  if (report->step == 1) {
    return make_error("{}: cannot take the rights of uid {}: {}", what, user.uid,
                      std::strerror(report->error));
  }
  if (report->step == 2 || !fd) {
    return make_error("{} {}: {}", what, whose, std::strerror(report->error));
  }
  return fd;
}

int open_now(const char* path, int flags, mode_t mode) {
  const int fd = ::open(path, flags | O_CLOEXEC | O_NOCTTY, mode);
  return fd < 0 ? -errno : fd;
}

int connect_now(const sockaddr_un& addr) {
  const int sk = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sk < 0) {
    return -errno;
  }
  if (::connect(sk, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int error = errno;
    ::close(sk);
    return -error;
  }
  return sk;
}

} // namespace

Result<util::UniqueFd> open_as(const std::optional<UserIdentity>& user,
                               const std::string& path, int flags, mode_t mode) {
  const std::string what = fmt::format("cannot open {}", path);
  if (!user) {
    const int fd = open_now(path.c_str(), flags, mode);
    if (fd < 0) {
      return make_error("{}: {}", what, std::strerror(-fd));
    }
    return util::UniqueFd(fd);
  }
  return in_child_as(
      *user, what, [&path, flags, mode] { return open_now(path.c_str(), flags, mode); });
}

Result<util::UniqueFd> connect_unix_as(const std::optional<UserIdentity>& user,
                                       const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return make_error("unix socket path '{}' is empty or too long", path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const std::string what = fmt::format("cannot connect to the unix socket {}", path);
  if (!user) {
    const int sk = connect_now(addr);
    if (sk < 0) {
      return make_error("{}: {}", what, std::strerror(-sk));
    }
    return util::UniqueFd(sk);
  }
  return in_child_as(*user, what, [&addr] { return connect_now(addr); });
}

} // namespace stasis::manager
