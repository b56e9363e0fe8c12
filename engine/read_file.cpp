#include "engine/read_file.hpp"

#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::engine {

Result<std::string> read_file(const std::filesystem::path& file, std::size_t limit) {
  // CRIU's files may sit in a directory of the target's user: never follow
  // a link she put there, never block on a FIFO, read regular files only.
  util::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) {
    return make_error("cannot read {}: {}", file.string(), std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error("cannot read {}: not a regular file", file.string());
  }
  std::string data;
  char buffer[16 * 1024];
  while (data.size() < limit) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return make_error("cannot read {}: {}", file.string(), std::strerror(errno));
    }
    if (got == 0) {
      break;
    }
    data.append(buffer, static_cast<std::size_t>(got));
  }
  return data;
}

} // namespace stasis::engine
