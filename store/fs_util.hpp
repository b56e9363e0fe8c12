// Small POSIX file helpers the store builds its crash-safety on.
#pragma once

#include "util/result.hpp"
#include "util/unique_fd.hpp"

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace stasis::store {

namespace fs = std::filesystem;

// Prefix of every temporary file the store creates; fsck removes leftovers.
inline constexpr std::string_view k_temp_prefix = ".tmp-";

// A random 128-bit name in hex (32 characters).
std::string random_name();

// " (the filesystem mounted on M is full)" for path when errno is ENOSPC (or
// the quota text for EDQUOT), "" otherwise: appended to write errors so they
// name the full filesystem.
std::string full_filesystem_note(const fs::path& path);

// Writes all of data to fd; names path in the error (and the filesystem when
// it is full).
Result<void> write_all(int fd, std::span<const std::uint8_t> data, const fs::path& path);
inline Result<void> write_all(int fd, std::string_view data, const fs::path& path) {
  return write_all(fd, {reinterpret_cast<const std::uint8_t*>(data.data()), data.size()},
                   path);
}

// Reads exactly data.size() bytes at offset; a short read is an error.
Result<void> pread_exact(int fd, std::span<std::uint8_t> data, std::uint64_t offset,
                         const fs::path& path);

// Reads a whole file into memory.
Result<std::string> read_file(const fs::path& path);

// fsyncs a directory so that renames and unlinks inside it are durable.
Result<void> fsync_dir(const fs::path& dir);

// Atomically replaces path with data: temp file + fsync + rename + dir fsync.
Result<void> atomic_write_file(const fs::path& path, std::string_view data,
                               unsigned mode = 0600);

// Creates dir (and parents) with the given mode if it does not exist.
Result<void> ensure_dir(const fs::path& dir, unsigned mode = 0700);

// Removes path and fsyncs its directory; a missing file is not an error.
Result<void> remove_durably(const fs::path& path);

// An flock(2) on a lock file, released on destruction.
class FileLock {
public:
  static Result<FileLock> acquire(const fs::path& path, bool exclusive);
  FileLock() = default;

private:
  explicit FileLock(util::UniqueFd fd) : m_fd(std::move(fd)) {}
  util::UniqueFd m_fd;
};

// "message: strerror(errno)" for the current errno.
std::string errno_text();

} // namespace stasis::store
