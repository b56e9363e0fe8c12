// stasisctl's human output: times as "62 ms" / "1.4 s" (JSON keeps the
// numbers), and no escape codes (the progress bar) unless both standard output
// and error are terminals and TERM is not dumb.
#include "tests/dbus/command.hpp"
#include "tests/dbus/service_fixture.hpp"

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

using namespace manager;
using namespace std::chrono_literals;

class StasisctlHumanOutput : public ServiceFixture {
protected:
  CommandResult stasisctl(const std::vector<std::string>& args,
                          std::vector<std::string> env = {}) {
    std::vector<std::string> argv{STASISCTL_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    env.push_back("STASIS_BUS_ADDRESS=" + m_bus.address());
    return run_command(argv, env);
  }

  // `stasisctl checkpoint web` in a terminal (script(1) gives it a pty for
  // standard input, output and error) with TERM=term, while the fake
  // announces progress and then the end of the run.
  std::string checkpoint_in_a_terminal(const std::string& term) {
    std::atomic<bool> done{false};
    std::thread worker([&] {
      for (int i = 0; i < 30 && !done; ++i) {
        std::this_thread::sleep_for(100ms);
        m_manager.announce(RunProgressEvent{"run-1", "dumping", 5, 10});
      }
      m_manager.announce(RunFinishedEvent{"run-1", "web", RunKind::Checkpoint,
                                          RunState::Succeeded, "ckpt-9", ""});
    });
    const std::string command =
        std::string(STASISCTL_PATH) + " checkpoint web --leave-running";
    auto result =
        run_command({"/usr/bin/script", "-qec", command, "/dev/null"},
                    {"TERM=" + term, "STASIS_BUS_ADDRESS=" + m_bus.address()}, 20s);
    done = true;
    worker.join();
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    EXPECT_NE(result.out.find("ckpt-"), std::string::npos) << result.out;
    return result.out;
  }
};

TEST_F(StasisctlHumanOutput, PrintsTimesInMillisecondsAndSeconds) {
  m_manager.checkpoint_info.frozen_usec = 62034;
  auto shown = stasisctl({"show", "web", "ckpt-1"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("frozen        62 ms\n"), std::string::npos) << shown.out;
  EXPECT_EQ(shown.out.find("62034"), std::string::npos) << shown.out;

  m_manager.checkpoint_info.frozen_usec = 1'400'000;
  shown = stasisctl({"show", "web", "ckpt-1"});
  EXPECT_NE(shown.out.find("frozen        1.4 s\n"), std::string::npos) << shown.out;

  // JSON keeps the number of microseconds.
  const auto json = stasisctl({"--json", "show", "web", "ckpt-1"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(nlohmann::json::parse(json.out)["frozen_usec"], 1'400'000);
}

TEST_F(StasisctlHumanOutput, DrawsNoEscapeCodesForADumbTerminal) {
  const auto dumb = checkpoint_in_a_terminal("dumb");
  EXPECT_EQ(dumb.find('\033'), std::string::npos) << dumb;
  // The same in a terminal that can: the bar is drawn (the test sees it).
  const auto xterm = checkpoint_in_a_terminal("xterm");
  EXPECT_NE(xterm.find("\033[K"), std::string::npos) << xterm;
}

TEST_F(StasisctlHumanOutput, DrawsNoEscapeCodesWhenOutputIsNotATerminal) {
  std::atomic<bool> done{false};
  std::thread worker([&] {
    for (int i = 0; i < 30 && !done; ++i) {
      std::this_thread::sleep_for(100ms);
      m_manager.announce(RunProgressEvent{"run-1", "dumping", 5, 10});
    }
    m_manager.announce(RunFinishedEvent{"run-1", "web", RunKind::Checkpoint,
                                        RunState::Succeeded, "ckpt-9", ""});
  });
  // Standard output to a file, standard error still the terminal.
  const std::string command =
      std::string(STASISCTL_PATH) + " checkpoint web --leave-running > /dev/null";
  const auto result =
      run_command({"/usr/bin/script", "-qec", command, "/dev/null"},
                  {"TERM=xterm", "STASIS_BUS_ADDRESS=" + m_bus.address()}, 20s);
  done = true;
  worker.join();
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.out.find('\033'), std::string::npos) << result.out;
}

} // namespace
} // namespace stasis::test
