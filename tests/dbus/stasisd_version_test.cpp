// --version on both binaries: the CMake project version, exit code 0, no daemon
// or bus needed.
#include "tests/dbus/command.hpp"
#include "util/version.hpp"

#include <gtest/gtest.h>

namespace stasis::test {
namespace {

TEST(TheBinaries, PrintTheirNameAndTheProjectVersionForDashDashVersion) {
  const std::string version(util::k_version);
  ASSERT_FALSE(version.empty());
  const auto ctl = run_command({STASISCTL_PATH, "--version"});
  EXPECT_EQ(ctl.exit_code, 0) << ctl.err;
  EXPECT_EQ(ctl.out, "stasisctl " + version + "\n");
  const auto daemon = run_command({STASISD_PATH, "--version"});
  EXPECT_EQ(daemon.exit_code, 0) << daemon.err;
  EXPECT_EQ(daemon.out, "stasisd " + version + "\n");
}

} // namespace
} // namespace stasis::test
