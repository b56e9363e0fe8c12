#include "tests/support/temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <linux/magic.h>
#include <stdexcept>
#include <string>
#include <sys/vfs.h>
#include <utility>

namespace stasis::test {

namespace {

bool on_tmpfs(const std::filesystem::path& path) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

} // namespace

std::filesystem::path disk_temp_base() {
  for (const auto& base :
       {std::filesystem::temp_directory_path(), std::filesystem::path("/var/tmp")}) {
    if (!on_tmpfs(base)) {
      return base;
    }
  }
  throw std::runtime_error("both the temp dir and /var/tmp are tmpfs: this test needs "
                           "a directory on a disk file system (set TMPDIR to one)");
}

TempDir::TempDir(std::string_view prefix)
    : TempDir(std::filesystem::temp_directory_path(), prefix) {}

TempDir::TempDir(const std::filesystem::path& base, std::string_view prefix) {
  std::string templ = (base / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("cannot create temporary directory " + templ + ": " +
                             std::strerror(errno));
  }
  m_path = templ;
}

TempDir::TempDir(TempDir&& other) noexcept : m_path(std::exchange(other.m_path, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    remove();
    m_path = std::exchange(other.m_path, {});
  }
  return *this;
}

TempDir::~TempDir() {
  remove();
}

void TempDir::remove() noexcept {
  if (!m_path.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
    m_path.clear();
  }
}

} // namespace stasis::test
