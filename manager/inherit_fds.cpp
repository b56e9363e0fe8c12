#include "manager/inherit_fds.hpp"

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
                 std::vector<engine::InheritFd>& out) {
  std::vector<util::UniqueFd> opened;
  for (const auto& entry : entries) {
    // Non-blocking, so that a FIFO without a reader fails instead of hanging
    // the run; the restored tree gets a blocking descriptor.
    util::UniqueFd fd(::open(entry.path.c_str(),
                             open_flags(entry.mode) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                             0600));
    if (!fd) {
      const int error = errno;
      return make_error("restore.inherit-fd: cannot open {} for {}: {}{}", entry.path,
                        entry.key, std::strerror(error),
                        error == ENXIO ? " (a FIFO needs a reader before the restore)"
                                       : "");
    }
    const int flags = ::fcntl(fd.get(), F_GETFL);
    ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    out.push_back({entry.key, fd.get()});
    opened.push_back(std::move(fd));
  }
  return opened;
}

} // namespace stasis::manager
