#include "manager/run_log.hpp"

#include "util/unique_fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

namespace stasis::manager {
namespace {

// The end of one log file (opened by the caller), at most k_max_run_log_bytes.
Result<std::string> read_tail(int fd, const struct stat& st, const std::string& name) {
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t skipped = size > k_max_run_log_bytes ? size - k_max_run_log_bytes : 0;
  std::string text(size - skipped, '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::pread(fd, text.data() + done, text.size() - done,
                              static_cast<off_t>(skipped + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return make_error("cannot read {}: {}", name, std::strerror(errno));
    }
    if (n == 0) {
      break; // it shrank meanwhile
    }
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);
  if (skipped > 0) {
    text = fmt::format("[the first {} bytes are left out]\n", skipped) + text;
  }
  return text;
}

} // namespace

Result<std::optional<std::string>> read_run_logs(const std::filesystem::path& dir) {
  util::UniqueFd dir_fd{
      ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (!dir_fd) {
    if (errno == ENOENT) {
      return std::optional<std::string>();
    }
    return make_error("cannot open {}: {}", dir.string(), std::strerror(errno));
  }
  struct stat dir_st {};
  if (::fstat(dir_fd.get(), &dir_st) != 0) {
    return make_error("cannot stat {}: {}", dir.string(), std::strerror(errno));
  }
  std::vector<std::string> names;
  {
    DIR* listing = ::fdopendir(::fcntl(dir_fd.get(), F_DUPFD_CLOEXEC, 0));
    if (listing == nullptr) {
      return make_error("cannot list {}: {}", dir.string(), std::strerror(errno));
    }
    while (const dirent* entry = ::readdir(listing)) {
      const std::string name = entry->d_name;
      if (name.size() > 4 && name.ends_with(".log") && name.front() != '.') {
        names.push_back(name);
      }
    }
    ::closedir(listing);
  }
  std::sort(names.begin(), names.end());
  std::string out;
  if (names.size() > k_max_run_log_files) {
    out += fmt::format("[{} log files; the first {} are shown]\n", names.size(),
                       k_max_run_log_files);
    names.resize(k_max_run_log_files);
  }
  for (const auto& name : names) {
    out += fmt::format("==> {} <==\n", name);
    struct stat st {};
    // Never opened unless it is a plain file of the dir's owner (or root):
    // not a symlink, device or FIFO, nor a hard link to someone else's file.
    const bool plain =
        ::fstatat(dir_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG(st.st_mode) && st.st_nlink == 1 &&
        (st.st_uid == dir_st.st_uid || st.st_uid == 0);
    util::UniqueFd fd;
    if (plain) {
      fd = util::UniqueFd{::openat(dir_fd.get(), name.c_str(),
                                   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
    }
    struct stat opened {};
    if (!fd || ::fstat(fd.get(), &opened) != 0 || opened.st_ino != st.st_ino ||
        opened.st_dev != st.st_dev || !S_ISREG(opened.st_mode) || opened.st_nlink != 1) {
      out += "[not shown: not a plain log file of the run]\n";
      continue;
    }
    auto text = read_tail(fd.get(), opened, name);
    if (!text) {
      return Unexpected(text.error());
    }
    out += *text;
    if (!out.empty() && out.back() != '\n') {
      out += '\n';
    }
  }
  return std::optional<std::string>(std::move(out));
}

} // namespace stasis::manager
