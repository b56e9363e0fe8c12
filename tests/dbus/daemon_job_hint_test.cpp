// Did-you-mean for job names: when stasisd says a job is unknown, stasisctl
// names the nearest job the caller may list (edit distance <= 2, or a prefix),
// and nothing else: never a job of another user.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"

#include <fmt/format.h>

namespace stasis::test {
namespace {

class AJobHint : public DaemonTest {
protected:
  void SetUp() override {
    write_policy("jobs.yaml", pidfile_job("webserver", dir() / "none.pid",
                                          fmt::format("access:\n  list: {{users: [{}]}}",
                                                      m_user.name())) +
                                  pidfile_job("database", dir() / "none.pid"));
    start_daemon();
  }

  TestUser m_user{"stasis-t-front-hint"};
};

TEST_F(AJobHint, NamesTheNearestJobWithinTwoEdits) {
  const auto result = stasisctl({"status", "websrever"});
  EXPECT_EQ(result.exit_code, 5) << result.err;
  EXPECT_NE(result.err.find("did you mean 'webserver'?"), std::string::npos)
      << result.err;
}

TEST_F(AJobHint, NamesAJobTheTypedNameIsAPrefixOf) {
  const auto result = stasisctl({"checkpoint", "data"});
  EXPECT_EQ(result.exit_code, 5) << result.err;
  EXPECT_NE(result.err.find("did you mean 'database'?"), std::string::npos) << result.err;
}

TEST_F(AJobHint, SaysNothingWhenNoJobIsNear) {
  const auto result = stasisctl({"restore", "zzzzzzzz"});
  EXPECT_EQ(result.exit_code, 5) << result.err;
  EXPECT_EQ(result.err.find("did you mean"), std::string::npos) << result.err;
}

TEST_F(AJobHint, NeverNamesAJobTheCallerMayNotList) {
  const auto hidden = stasisctl({"status", "databse"}, m_user.name());
  EXPECT_EQ(hidden.exit_code, 5) << hidden.err;
  EXPECT_EQ(hidden.err.find("did you mean"), std::string::npos) << hidden.err;
  const auto own = stasisctl({"checkpoints", "webserve"}, m_user.name());
  EXPECT_EQ(own.exit_code, 5) << own.err;
  EXPECT_NE(own.err.find("did you mean 'webserver'?"), std::string::npos) << own.err;
}

} // namespace
} // namespace stasis::test
