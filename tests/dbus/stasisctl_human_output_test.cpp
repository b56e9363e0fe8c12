// stasisctl's human output: times as "62 ms" / "1.4 s" (JSON keeps the
// numbers), progress as bytes of the total, and no escape codes (the line
// redrawn in place) unless both standard output and error are terminals and
// TERM is not dumb; --quiet shows no progress.
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

  // `stasisctl checkpoint web` (with extra options) in a terminal (script(1)
  // gives it a pty for standard input, output and error) with TERM=term,
  // while the fake announces progress (bytes done of total) and then the end
  // of the run.
  std::string checkpoint_in_a_terminal(const std::string& term,
                                       std::uint64_t progress_done = 5,
                                       std::uint64_t progress_total = 10,
                                       const std::string& extra = "") {
    std::atomic<bool> done{false};
    std::thread worker([&] {
      for (int i = 0; i < 30 && !done; ++i) {
        std::this_thread::sleep_for(100ms);
        m_manager.announce(
            RunProgressEvent{"run-1", "dumping", progress_done, progress_total});
      }
      m_manager.announce(RunFinishedEvent{"run-1", "web", RunKind::Checkpoint,
                                          RunState::Succeeded, "ckpt-9", ""});
    });
    const std::string command =
        std::string(STASISCTL_PATH) + " checkpoint web --leave-running" + extra;
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

TEST_F(StasisctlHumanOutput, ShowsTheBytesOfTheTotalAsPlainLinesForADumbTerminal) {
  const auto dumb = checkpoint_in_a_terminal("dumb", 5 << 20, 10 << 20);
  EXPECT_NE(dumb.find("dumping  5.0 MiB of 10 MiB  50%"), std::string::npos) << dumb;
  EXPECT_EQ(dumb.find('\033'), std::string::npos) << dumb;
  const auto xterm = checkpoint_in_a_terminal("xterm", 5 << 20, 10 << 20);
  EXPECT_NE(xterm.find("\033[Kdumping  5.0 MiB of 10 MiB  50%"), std::string::npos)
      << xterm;
}

TEST_F(StasisctlHumanOutput, ShowsNoProgressWhenQuiet) {
  const auto quiet = checkpoint_in_a_terminal("xterm", 5 << 20, 10 << 20, " --quiet");
  EXPECT_EQ(quiet.find("dumping"), std::string::npos) << quiet;
  EXPECT_EQ(quiet.find('\033'), std::string::npos) << quiet;
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
