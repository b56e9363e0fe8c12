// A temporary directory for one test.
#pragma once

#include <filesystem>
#include <string_view>

namespace stasis::test {

// A fresh directory under the system temp dir (mkdtemp), removed recursively on
// destruction. Movable, not copyable.
class TempDir {
public:
  // Creates <tmp>/<prefix>-XXXXXX; throws std::runtime_error if that fails.
  explicit TempDir(std::string_view prefix = "stasis-test");
  // Creates <base>/<prefix>-XXXXXX; throws std::runtime_error if that fails.
  TempDir(const std::filesystem::path& base, std::string_view prefix);
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return m_path; }

private:
  void remove() noexcept;

  std::filesystem::path m_path;
};

// A base for temporary directories that is not a tmpfs: the system temp dir
// when it is not one, else /var/tmp; throws std::runtime_error when both are.
// A tree in a private mount namespace gets its own copy of a tmpfs on restore
// (CRIU dumps a tmpfs's contents), so files it writes there after a restore
// are not where the test looks.
std::filesystem::path disk_temp_base();

} // namespace stasis::test
