// Where the store writes a checkpoint's image files (materialize, a lazy
// restore's small images) as root: a directory held open, each file created
// relative to its descriptor (O_EXCL, O_NOFOLLOW) under a name checked to
// stay inside it, always as a plain 0644 file whatever the manifest says.
#pragma once

#include "store/fs_util.hpp"

#include <sys/types.h>
#include <vector>

namespace stasis::store {

// Mode of every image file the store writes (a non-root CRIU may read them).
inline constexpr mode_t k_image_file_mode = 0644;
// Mode of an images dir the store creates.
inline constexpr mode_t k_images_dir_mode = 0755;

class OutputDir {
public:
  // Creates dir (mode 0755; its parents as ensure_dir does) or opens it when
  // it exists: then it must be an empty directory of ours that nobody else
  // may write. A symlink is refused, never followed.
  static Result<OutputDir> open(const fs::path& dir);

  OutputDir(OutputDir&&) = default;
  OutputDir& operator=(OutputDir&&) = default;

  // Creates the file name (a valid_file_name) as a new 0644 file.
  Result<util::UniqueFd> create(std::string_view name);

  // Removes the files created so far, and the dir when open() made it.
  void discard();

  const fs::path& path() const { return m_path; }

private:
  OutputDir(fs::path path, util::UniqueFd fd, bool created)
      : m_path(std::move(path)), m_fd(std::move(fd)), m_created(created) {}

  fs::path m_path;
  util::UniqueFd m_fd;
  bool m_created = false;
  std::vector<std::string> m_files;
};

} // namespace stasis::store
