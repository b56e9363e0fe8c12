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

} // namespace stasis::test
