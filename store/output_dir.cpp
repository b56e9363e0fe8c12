#include "store/output_dir.hpp"

#include "store/manifest.hpp"

#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::store {
namespace {

// True when the open directory has no entries.
Result<bool> is_empty(int dir_fd, const fs::path& path) {
  int copy = ::dup(dir_fd);
  DIR* dir = copy < 0 ? nullptr : ::fdopendir(copy);
  if (dir == nullptr) {
    if (copy >= 0) {
      ::close(copy);
    }
    return make_error("cannot read directory {}: {}", path.string(), errno_text());
  }
  bool empty = true;
  while (const dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(dir);
  return empty;
}

} // namespace

Result<OutputDir> OutputDir::open(const fs::path& dir) {
  const auto parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  const auto leaf = dir.filename();
  if (leaf.empty() || leaf == "." || leaf == "..") {
    return make_error("{} does not name a directory to create", dir.string());
  }
  STASIS_TRY(ensure_dir(parent));
  util::UniqueFd parent_fd{::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!parent_fd) {
    return make_error("cannot open {}: {}", parent.string(), errno_text());
  }
  bool created = false;
  if (::mkdirat(parent_fd.get(), leaf.c_str(), k_images_dir_mode) == 0) {
    created = true;
  } else if (errno != EEXIST) {
    return make_error("cannot create directory {}: {}", dir.string(), errno_text());
  }
  util::UniqueFd fd{::openat(parent_fd.get(), leaf.c_str(),
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (!fd) {
    struct stat st {};
    if (::fstatat(parent_fd.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode)) {
      return make_error("{} is a symbolic link; images are only written into a real "
                        "directory",
                        dir.string());
    }
    return make_error("{} exists and is not a directory ({})", dir.string(),
                      errno_text());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return make_error("cannot inspect {}: {}", dir.string(), errno_text());
  }
  if (created) {
    // Exactly 0755 whatever the umask.
    if (::fchmod(fd.get(), k_images_dir_mode) != 0) {
      return make_error("cannot set the mode of {}: {}", dir.string(), errno_text());
    }
    return OutputDir(dir, std::move(fd), true);
  }
  if (st.st_uid != ::geteuid()) {
    return make_error("{} belongs to uid {}; images are only written into a directory "
                      "of uid {}",
                      dir.string(), st.st_uid, ::geteuid());
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return make_error("{} may be written by others (mode {:o}); images are only "
                      "written into a directory that nobody else may change",
                      dir.string(), st.st_mode & 07777);
  }
  if (!STASIS_TRY(is_empty(fd.get(), dir))) {
    return make_error("{} exists and is not an empty directory", dir.string());
  }
  return OutputDir(dir, std::move(fd), false);
}

Result<util::UniqueFd> OutputDir::create(std::string_view name) {
  if (!valid_file_name(name)) {
    return make_error("refusing to write a file named '{}' into {}", name,
                      m_path.string());
  }
  const std::string file(name);
  util::UniqueFd fd{::openat(m_fd.get(), file.c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                             k_image_file_mode)};
  if (!fd) {
    return make_error("cannot create {}: {}", (m_path / file).string(), errno_text());
  }
  m_files.push_back(file);
  // Exactly 0644 whatever the umask: no setuid, setgid, sticky or write bits.
  if (::fchmod(fd.get(), k_image_file_mode) != 0) {
    return make_error("cannot set the mode of {}: {}", (m_path / file).string(),
                      errno_text());
  }
  return fd;
}

void OutputDir::discard() {
  for (const auto& file : m_files) {
    ::unlinkat(m_fd.get(), file.c_str(), 0);
  }
  m_files.clear();
  if (m_created) {
    const auto parent =
        m_path.parent_path().empty() ? fs::path(".") : m_path.parent_path();
    util::UniqueFd parent_fd{::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (parent_fd) {
      ::unlinkat(parent_fd.get(), m_path.filename().c_str(), AT_REMOVEDIR);
    }
    m_created = false;
  }
}

} // namespace stasis::store
