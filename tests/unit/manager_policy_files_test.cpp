// Reading root's policy files under the daemon's rule (policy_path_rule):
// every directory, symlink and file on the way is checked on the descriptor
// it is read from. These tests trust their own uid like root; the tests that
// need other owners run as root (tests/e2e) and as real users (tests/dbus).
#include "manager/authorization.hpp"
#include "policy/loader.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* k_good = "version: 1\njobs:\n  - name: web\n    target: {pid: 1}\n";

std::string errors_of(const Result<policy::PolicySet, policy::Diagnostics>& result) {
  std::string text;
  if (!result) {
    for (const auto& d : result.error()) {
      text += d.to_string() + "\n";
    }
  }
  return text;
}

class APolicyDirectoryUnderTheDaemonsRule : public ::testing::Test {
protected:
  void SetUp() override {
    std::string name = (fs::temp_directory_path() / "stasis-rule-XXXXXX").string();
    ASSERT_NE(::mkdtemp(name.data()), nullptr);
    m_top = fs::canonical(name);
    ::chmod(m_top.c_str(), 0755);
    fs::create_directories(policy_dir());
    write(policy_dir() / "web.yaml", k_good);
  }
  void TearDown() override { fs::remove_all(m_top); }

  fs::path policy_dir() const { return m_top / "policy"; }
  static void write(const fs::path& path, const std::string& text) {
    std::ofstream(path) << text;
    ::chmod(path.c_str(), 0644);
  }
  Result<policy::PolicySet, policy::Diagnostics> load() const {
    return policy::load_policy_dir(policy_dir(), policy_path_rule(::getuid()));
  }

  fs::path m_top;
};

TEST_F(APolicyDirectoryUnderTheDaemonsRule, LoadsFilesThatOnlyTheTrustedOwnerMayChange) {
  auto result = load();
  ASSERT_TRUE(result) << errors_of(result);
  EXPECT_EQ(result->jobs().size(), 1u);
}

TEST_F(APolicyDirectoryUnderTheDaemonsRule, RefusesAPolicyFileWritableByGroupOrOthers) {
  const auto file = policy_dir() / "web.yaml";
  for (mode_t mode : {0664, 0646}) {
    ::chmod(file.c_str(), mode);
    auto result = load();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().front().file, file.string());
    EXPECT_THAT(result.error().front().message, HasSubstr("policy file " + file.string() +
                                                          " is writable by group or "
                                                          "others"));
    EXPECT_THAT(result.error().front().message,
                HasSubstr("fix: chmod go-w " + file.string()));
  }
}

TEST_F(APolicyDirectoryUnderTheDaemonsRule,
       RefusesAPolicyDirectoryOthersMayWriteEvenIfSticky) {
  for (mode_t mode : {0777, 01777, 0775}) {
    ::chmod(policy_dir().c_str(), mode);
    auto result = load();
    ASSERT_FALSE(result) << std::oct << mode;
    EXPECT_EQ(
        result.error().front().to_string(),
        fmt::format("{0}: directory {0} is writable by group or others (mode {1:o}): "
                    "they could change the policies, whose hooks run as root (fix: "
                    "chmod go-w {0})",
                    policy_dir().string(), mode));
  }
}

TEST_F(APolicyDirectoryUnderTheDaemonsRule, RefusesADirectoryOnTheWayOthersMayWrite) {
  ::chmod(m_top.c_str(), 0777);
  auto result = load();
  ASSERT_FALSE(result);
  EXPECT_THAT(errors_of(result), HasSubstr("directory " + m_top.string() +
                                           " is writable by group or others"));
  // A sticky one (like /tmp) is fine: no one else may rename or remove the
  // entries in it that are not theirs.
  ::chmod(m_top.c_str(), 01777);
  EXPECT_TRUE(load()) << errors_of(load());
}

TEST_F(APolicyDirectoryUnderTheDaemonsRule,
       FollowsASymlinkOnlyWhereItsTargetPassesTheRule) {
  fs::create_directories(m_top / "shared");
  write(m_top / "shared" / "db.yaml",
        "version: 1\njobs:\n  - name: db\n    target: {pid: 1}\n");
  fs::create_symlink(m_top / "shared" / "db.yaml", policy_dir() / "db.yaml");
  auto result = load();
  ASSERT_TRUE(result) << errors_of(result);
  EXPECT_EQ(result->jobs().size(), 2u);

  ::chmod((m_top / "shared").c_str(), 0777);
  result = load();
  ASSERT_FALSE(result);
  ASSERT_EQ(result.error().size(), 1u) << errors_of(result);
  EXPECT_EQ(result.error().front().file, (policy_dir() / "db.yaml").string());
  EXPECT_THAT(result.error().front().message,
              HasSubstr("directory " + (m_top / "shared").string() +
                        " is writable by group or others"));
}

TEST_F(APolicyDirectoryUnderTheDaemonsRule, ReportsTheOtherFilesBesideAnUnsafeOne) {
  write(policy_dir() / "bad.yaml", k_good);
  ::chmod((policy_dir() / "bad.yaml").c_str(), 0666);
  write(policy_dir() / "typo.yaml", "version: 1\njobs:\n  - name: db\n    targt: {}\n");
  auto result = load();
  ASSERT_FALSE(result);
  const std::string errors = errors_of(result);
  EXPECT_THAT(errors, HasSubstr("bad.yaml: policy file"));
  EXPECT_THAT(errors, HasSubstr("typo.yaml:4:5: unknown key 'targt'"));
}

TEST_F(APolicyDirectoryUnderTheDaemonsRule, RefusesAPolicyFileThatIsNotARegularFile) {
  ASSERT_EQ(::mkfifo((policy_dir() / "fifo.yaml").c_str(), 0644), 0);
  auto result = load(); // does not block on the FIFO
  ASSERT_FALSE(result);
  EXPECT_THAT(errors_of(result), HasSubstr("fifo.yaml is not a regular file"));
}

} // namespace
} // namespace stasis::manager
