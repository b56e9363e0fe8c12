// The real stasisd on a private bus with an empty policy dir: it owns the
// name, stasisctl talks to it, SIGHUP reloads, SIGTERM stops it cleanly.
// Built once manager::make_manager() exists (see daemon/CMakeLists.txt).
#include "tests/dbus/command.hpp"
#include "tests/dbus/private_bus.hpp"

#include <filesystem>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

class AStasisd : public ::testing::Test {
protected:
  AStasisd() {
    std::filesystem::create_directories(m_bus.dir() / "policy");
    std::filesystem::create_directories(m_bus.dir() / "state");
    m_log = (m_bus.dir() / "stasisd.log").string();
    m_pid = spawn({STASISD_PATH, "--bus", m_bus.address(), "--policy-dir",
                   (m_bus.dir() / "policy").string(), "--state-dir",
                   (m_bus.dir() / "state").string(), "-v"},
                  m_log);
  }

  ~AStasisd() override {
    if (m_pid > 0) {
      stop_process(m_pid, SIGKILL, 5s);
    }
  }

  CommandResult stasisctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{STASISCTL_PATH, "--bus", m_bus.address()};
    for (const auto& arg : args) {
      argv.push_back(arg);
    }
    return run_command(argv);
  }

  // Waits until stasisd answers (owns the name); false after 10 s.
  bool wait_until_serving() {
    for (int i = 0; i < 200; ++i) {
      if (stasisctl({"jobs"}).exit_code == 0) {
        return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::string log() const {
    std::ifstream in(m_log);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  PrivateBus m_bus;
  std::string m_log;
  pid_t m_pid = -1;
};

TEST_F(AStasisd, ServesTheBusAndAnswersStasisctl) {
  ASSERT_TRUE(wait_until_serving()) << log();
  const auto jobs = stasisctl({"jobs", "--json"});
  ASSERT_EQ(jobs.exit_code, 0) << jobs.err << log();
  EXPECT_TRUE(nlohmann::json::parse(jobs.out).is_array()) << jobs.out;
  const auto status = stasisctl({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("stasisd"), std::string::npos) << status.out;
}

TEST_F(AStasisd, ReloadsOnSighupAndStopsCleanlyOnSigterm) {
  ASSERT_TRUE(wait_until_serving()) << log();
  ::kill(m_pid, SIGHUP);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(stasisctl({"jobs"}).exit_code, 0) << log();
  const int code = stop_process(m_pid, SIGTERM, 10s);
  m_pid = -1;
  EXPECT_EQ(code, 0) << log();
  EXPECT_NE(log().find("reloaded on SIGHUP"), std::string::npos) << log();
}

TEST_F(AStasisd, RefusesASecondInstanceOnTheSameBus) {
  ASSERT_TRUE(wait_until_serving()) << log();
  const auto second = run_command({STASISD_PATH, "--bus", m_bus.address(), "--policy-dir",
                                   (m_bus.dir() / "policy").string(), "--state-dir",
                                   (m_bus.dir() / "state").string()});
  // It fails on the name (or earlier on the store's lock), never steals it.
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_FALSE(second.err.empty());
  EXPECT_EQ(stasisctl({"jobs"}).exit_code, 0) << log();
}

} // namespace
} // namespace stasis::test
