#include "manager/caller_terminal.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

namespace stasis::manager {

Result<uid_t> terminal_owner(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return make_error("the terminal descriptor cannot be examined: {}",
                      std::strerror(errno));
  }
  if (!S_ISCHR(st.st_mode)) {
    return make_error("the terminal descriptor is not a character device");
  }
  return st.st_uid;
}

Result<void> check_caller_terminal(int fd, uid_t caller) {
  const uid_t owner = STASIS_TRY(terminal_owner(fd));
  termios modes{};
  if (::tcgetattr(fd, &modes) != 0) { // TCGETS: isatty(3) without its errno games
    return make_error("the terminal descriptor is not a terminal");
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_ACCMODE) != O_RDWR) {
    return make_error("the terminal descriptor is not open for reading and writing");
  }
  if (caller != 0 && owner != caller) {
    return make_error("the terminal belongs to uid {}, not to the caller (uid {})", owner,
                      caller);
  }
  return ok();
}

} // namespace stasis::manager
