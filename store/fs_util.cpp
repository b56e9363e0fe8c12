#include "store/fs_util.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::store {

std::string errno_text() {
  return std::strerror(errno);
}

std::string random_name() {
  static thread_local std::random_device device;
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 4; ++i) {
    std::uint32_t v = device();
    for (int j = 0; j < 8; ++j) {
      out.push_back(k_digits[v & 0xf]);
      v >>= 4;
    }
  }
  return out;
}

std::string full_filesystem_note(const fs::path& path) {
  const int error = errno;
  if (error != ENOSPC && error != EDQUOT) {
    return "";
  }
  // The mount point: the highest directory above path on the same device.
  std::error_code ec;
  fs::path dir = fs::absolute(path, ec).parent_path();
  struct stat st {};
  if (ec || ::stat(dir.c_str(), &st) != 0) {
    errno = error;
    return "";
  }
  while (dir.has_relative_path()) {
    struct stat up {};
    if (::stat(dir.parent_path().c_str(), &up) != 0 || up.st_dev != st.st_dev) {
      break;
    }
    dir = dir.parent_path();
  }
  errno = error;
  return error == ENOSPC
             ? fmt::format(" (the filesystem mounted on {} is full)", dir.string())
             : fmt::format(" (the disk quota on the filesystem mounted on {} is used up)",
                           dir.string());
}

Result<void> write_all(int fd, std::span<const std::uint8_t> data, const fs::path& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const auto note = full_filesystem_note(path);
      return make_error("cannot write {}: {}{}", path.string(), errno_text(), note);
    }
    done += static_cast<std::size_t>(n);
  }
  return ok();
}

Result<void> pread_exact(int fd, std::span<std::uint8_t> data, std::uint64_t offset,
                         const fs::path& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pread(fd, data.data() + done, data.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_error("cannot read {}: {}", path.string(), errno_text());
    }
    if (n == 0) {
      return make_error("{} is truncated (wanted {} bytes at offset {})", path.string(),
                        data.size(), offset);
    }
    done += static_cast<std::size_t>(n);
  }
  return ok();
}

Result<std::string> read_file(const fs::path& path) {
  util::UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) {
    return make_error("cannot open {}: {}", path.string(), errno_text());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return make_error("cannot stat {}: {}", path.string(), errno_text());
  }
  std::string data(static_cast<std::size_t>(st.st_size), '\0');
  STASIS_TRY(pread_exact(
      fd.get(), {reinterpret_cast<std::uint8_t*>(data.data()), data.size()}, 0, path));
  return data;
}

Result<void> fsync_dir(const fs::path& dir) {
  util::UniqueFd fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!fd || ::fsync(fd.get()) != 0) {
    return make_error("cannot fsync directory {}: {}", dir.string(), errno_text());
  }
  return ok();
}

Result<void> atomic_write_file(const fs::path& path, std::string_view data,
                               unsigned mode) {
  fs::path temp = path.parent_path() / (std::string(k_temp_prefix) +
                                        path.filename().string() + "." + random_name());
  util::UniqueFd fd{::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)};
  if (!fd) {
    return make_error("cannot create {}: {}", temp.string(), errno_text());
  }
  auto written = write_all(fd.get(), data, temp);
  if (written && ::fsync(fd.get()) != 0) {
    written = make_error("cannot fsync {}: {}", temp.string(), errno_text());
  }
  fd.reset();
  if (written && ::rename(temp.c_str(), path.c_str()) != 0) {
    written = make_error("cannot rename {} to {}: {}", temp.string(), path.string(),
                         errno_text());
  }
  if (!written) {
    ::unlink(temp.c_str());
    return written;
  }
  return fsync_dir(path.parent_path());
}

Result<void> ensure_dir(const fs::path& dir, unsigned mode) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    return ok();
  }
  if (!dir.parent_path().empty() && dir.parent_path() != dir) {
    STASIS_TRY(ensure_dir(dir.parent_path(), mode));
  }
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return make_error("cannot create directory {}: {}", dir.string(), errno_text());
  }
  return ok();
}

Result<void> remove_durably(const fs::path& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) {
      return ok();
    }
    return make_error("cannot remove {}: {}", path.string(), errno_text());
  }
  return fsync_dir(path.parent_path());
}

Result<FileLock> FileLock::acquire(const fs::path& path, bool exclusive) {
  util::UniqueFd fd{::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};
  if (!fd) {
    return make_error("cannot open lock file {}: {}", path.string(), errno_text());
  }
  while (::flock(fd.get(), exclusive ? LOCK_EX : LOCK_SH) != 0) {
    if (errno != EINTR) {
      return make_error("cannot lock {}: {}", path.string(), errno_text());
    }
  }
  return FileLock{std::move(fd)};
}

} // namespace stasis::store
