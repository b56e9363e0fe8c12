#include "engine/read_file.hpp"

#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace stasis::engine {

Result<std::string> read_file(const std::filesystem::path& file, std::size_t limit) {
  util::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return make_error("cannot read {}: {}", file.string(), std::strerror(errno));
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
