#include "util/small_file.hpp"

#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::util {

Result<std::string> read_small_file(const std::filesystem::path& path, std::uintmax_t limit,
                                    std::string_view what) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) {
    return make_error("cannot read the {} {}: {}", what, path.string(), std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error("the {} {} is not a regular file", what, path.string());
  }
  if (static_cast<std::uintmax_t>(st.st_size) > limit) {
    return make_error("the {} {} is larger than {} bytes", what, path.string(), limit);
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return make_error("cannot read the {} {}: {}", what, path.string(),
                        std::strerror(errno));
    }
    if (n == 0) {
      break; // shrank meanwhile
    }
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);
  return text;
}

} // namespace stasis::util
