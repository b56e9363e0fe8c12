#include "manager/inherit_fds.hpp"

#include "manager/open_as.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>

namespace stasis::manager {
namespace {

int open_flags(policy::InheritFd::Mode mode) {
  switch (mode) {
  case policy::InheritFd::Mode::Read:
    return O_RDONLY;
  case policy::InheritFd::Mode::Write:
    return O_WRONLY | O_CREAT;
  case policy::InheritFd::Mode::Append:
    return O_WRONLY | O_CREAT | O_APPEND;
  case policy::InheritFd::Mode::ReadWrite:
    return O_RDWR;
  }
  return O_RDWR;
}

} // namespace

Result<std::vector<util::UniqueFd>>
open_inherit_fds(const std::vector<policy::InheritFd>& entries,
                 const std::optional<UserIdentity>& user,
                 std::vector<engine::InheritFd>& out) {
  std::vector<util::UniqueFd> opened;
  for (const auto& entry : entries) {
    // Non-blocking, so that a FIFO without a reader fails instead of hanging
    // the run; the restored tree gets a blocking descriptor.
    auto fd = open_as(user, entry.path, open_flags(entry.mode) | O_NONBLOCK, 0600);
    if (!fd) {
      const bool no_reader =
          fd.error().message.find(std::strerror(ENXIO)) != std::string::npos;
      return make_error("restore.inherit-fd: for {}: {}{}", entry.key, fd.error().message,
                        no_reader ? " (a FIFO needs a reader before the restore)" : "");
    }
    const int flags = ::fcntl(fd->get(), F_GETFL);
    ::fcntl(fd->get(), F_SETFL, flags & ~O_NONBLOCK);
    out.push_back({entry.key, fd->get()});
    opened.push_back(std::move(*fd));
  }
  return opened;
}

} // namespace stasis::manager
