// locate_criu(): explicit path, $STASIS_CRIU, private CRIU, PATH.
#include "engine/locator.hpp"
#include "tests/unit/engine_fake_worker.hpp"

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace stasis::engine {
namespace {

// Sets or unsets an environment variable for one test.
class EnvScope {
public:
  EnvScope(const char* name, const char* value) : m_name(name) {
    if (const char* old = std::getenv(name)) {
      m_old = old;
    }
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~EnvScope() {
    if (m_old) {
      ::setenv(m_name, m_old->c_str(), 1);
    } else {
      ::unsetenv(m_name);
    }
  }

private:
  const char* m_name;
  std::optional<std::string> m_old;
};

TEST(TheCriuLocator, UsesAnExplicitExecutable) {
  auto found = locate_criu("/bin/sh");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(*found, "/bin/sh");
}

TEST(TheCriuLocator, RejectsAnExplicitPathThatDoesNotExist) {
  auto found = locate_criu("/no/such/criu");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().message,
            "the configured criu binary /no/such/criu does not exist");
}

TEST(TheCriuLocator, RejectsAnExplicitPathThatIsNotExecutable) {
  testing::ScratchDir dir;
  std::ofstream(dir.path() / "criu") << "#!/bin/sh\n";
  std::filesystem::permissions(dir.path() / "criu", std::filesystem::perms::owner_read);
  auto found = locate_criu(dir.path() / "criu");
  ASSERT_FALSE(found);
  EXPECT_NE(found.error().message.find("is not executable"), std::string::npos);
}

TEST(TheCriuLocator, PrefersTheEnvironmentOverTheDefaults) {
  EnvScope env("STASIS_CRIU", "/bin/true");
  auto found = locate_criu();
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(*found, "/bin/true");
}

TEST(TheCriuLocator, RejectsABrokenEnvironmentSettingInsteadOfFallingBack) {
  EnvScope env("STASIS_CRIU", "/no/such/criu");
  auto found = locate_criu();
  ASSERT_FALSE(found);
  EXPECT_NE(found.error().message.find("STASIS_CRIU=/no/such/criu does not exist"),
            std::string::npos);
}

TEST(TheCriuLocator, PrefersAnExplicitPathOverTheEnvironment) {
  EnvScope env("STASIS_CRIU", "/bin/true");
  auto found = locate_criu("/bin/sh");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, "/bin/sh");
}

TEST(TheCriuLocator, DefaultsToThePrivateCriuPrefix) {
  EXPECT_EQ(default_criu_path().filename(), "criu");
  EXPECT_EQ(default_criu_path().parent_path().filename(), "bin");
}

} // namespace
} // namespace stasis::engine
