// Hooks run for real: fork, user switch, capability drop, and a PID namespace
// whose processes all die with the hook.
#include "manager/hook_runner.hpp"
#include "tests/support/process.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <signal.h>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

using namespace std::chrono_literals;

HookOutcome run_ok(const HookSpec& spec, const HookEvent& event = {},
                   const HookOutputSink& sink = {}) {
  HookRunnerOptions options;
  options.kill_grace = 300ms;
  auto outcome = run_hook(spec, event, sink, options);
  EXPECT_TRUE(outcome) << outcome.error().message;
  return outcome ? *outcome : HookOutcome{};
}

HookSpec shell(const std::string& script) {
  HookSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.timeout = 5s;
  return spec;
}

// A temp dir every user may write to (hooks running as nobody leave notes).
struct SharedDir {
  std::filesystem::path path;
  SharedDir() {
    char templ[] = "/tmp/stasis-hook-XXXXXX";
    path = mkdtemp(templ);
    std::filesystem::permissions(path, std::filesystem::perms::all);
  }
  ~SharedDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

TEST(AHookRunner, RequiresRoot) {
  ASSERT_EQ(geteuid(), 0u) << "the e2e tier runs as root";
}

TEST(AHookRunner, ReportsSuccessAndCapturesOutputLines) {
  std::vector<std::string> lines;
  auto outcome = run_ok(shell("echo one; echo two >&2; printf three"), {},
                        [&](std::string_view line) { lines.emplace_back(line); });
  EXPECT_TRUE(outcome.succeeded());
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(outcome.output_tail, "one\ntwo\nthree");
}

TEST(AHookRunner, ReportsTheExitCodeOfAFailingHook) {
  auto outcome = run_ok(shell("exit 3"));
  EXPECT_FALSE(outcome.succeeded());
  EXPECT_EQ(outcome.exit_code, 3);
  EXPECT_EQ(outcome.describe(), "exited with status 3");
}

TEST(AHookRunner, KillsEveryProcessOfTheHookOnTimeout) {
  const std::string marker = fmt::format("stasis-t-hook-timeout-{}", getpid());
  test::KillMarkedOnExit cleanup{marker};
  // The hook starts a sleeper that ignores nothing; both must die.
  auto spec = shell(fmt::format("bash -c 'exec -a {} sleep 30' & wait", marker));
  spec.timeout = 300ms;
  auto outcome = run_ok(spec);
  EXPECT_TRUE(outcome.timed_out);
  EXPECT_EQ(outcome.signal, SIGTERM);
  EXPECT_LT(outcome.duration, 3s);
  EXPECT_EQ(test::processes_with_marker(marker), std::vector<pid_t>{});
}

TEST(AHookRunner, LeavesNoProcessThatEscapedWithSetsidOrADoubleForkBehind) {
  const std::string marker = fmt::format("stasis-t-hook-escape-{}", getpid());
  test::KillMarkedOnExit cleanup{marker};
  SharedDir dir;
  // As a non-root user: a new session (setsid) and an orphan of a double fork,
  // each saying when it runs; then the hook itself outlives its timeout.
  auto spec = shell(fmt::format(
      "setsid bash -c ': > {1}/setsid; exec -a {0}-setsid sleep 1000' & "
      "( bash -c ': > {1}/double; exec -a {0}-double sleep 1000' & ); "
      "while [ ! -e {1}/setsid ] || [ ! -e {1}/double ]; do sleep 0.01; done; "
      "echo both running; exec bash -c 'exec -a {0}-hook sleep 1000'",
      marker, dir.path.string()));
  spec.user = "nobody";
  spec.timeout = 1s;
  auto outcome = run_ok(spec);
  EXPECT_TRUE(outcome.timed_out);
  EXPECT_EQ(outcome.output_tail, "both running\n");
  EXPECT_EQ(test::processes_with_marker(marker), std::vector<pid_t>{});
}

TEST(AHookRunner, LeavesNoProcessBehindWhenItExitsOnItsOwn) {
  const std::string marker = fmt::format("stasis-t-hook-exit-{}", getpid());
  test::KillMarkedOnExit cleanup{marker};
  SharedDir dir;
  auto spec =
      shell(fmt::format("setsid bash -c ': > {1}/running; exec -a {0} sleep 1000' & "
                        "while [ ! -e {1}/running ]; do sleep 0.01; done; exit 4",
                        marker, dir.path.string()));
  spec.user = "nobody";
  auto outcome = run_ok(spec);
  EXPECT_FALSE(outcome.timed_out);
  EXPECT_EQ(outcome.exit_code, 4);
  EXPECT_EQ(test::processes_with_marker(marker), std::vector<pid_t>{});
}

TEST(AHookRunner, SeesTheTargetInTheHostsProc) {
  // The target's pid is a host pid; the hook's /proc is the host's.
  auto spec = HookSpec{
      {"/bin/sh", "-c", "grep '^Pid:' /proc/$STASIS_PID/status; readlink /proc/self"},
      5s,
      "nobody",
      std::nullopt,
      {}};
  HookEvent event{"web", "pre-dump", "", getpid(), ""};
  auto outcome = run_ok(spec, event);
  EXPECT_TRUE(outcome.succeeded()) << outcome.output_tail;
  EXPECT_EQ(outcome.output_tail.find(fmt::format("Pid:\t{}\n", getpid())), 0u)
      << outcome.output_tail;
  // /proc/self is the hook's own (host) pid, not the namespace's 2.
  EXPECT_EQ(outcome.output_tail.find("\n2\n"), std::string::npos) << outcome.output_tail;
}

TEST(AHookRunner, EscalatesToSigkillWhenTheHookIgnoresSigterm) {
  auto spec = shell("trap '' TERM; while :; do sleep 0.05; done");
  spec.timeout = 200ms;
  auto outcome = run_ok(spec);
  EXPECT_TRUE(outcome.timed_out);
  EXPECT_EQ(outcome.signal, SIGKILL);
}

TEST(AHookRunner, RunsAsTheConfiguredUser) {
  auto spec = HookSpec{{"id", "-u"}, 5s, "nobody", std::nullopt, {}};
  auto outcome = run_ok(spec);
  EXPECT_TRUE(outcome.succeeded());
  EXPECT_EQ(outcome.output_tail, "65534\n");
  spec.argv = {"id", "-G"};
  EXPECT_EQ(run_ok(spec).output_tail, "65534\n");
}

TEST(AHookRunner, RunsAsTheConfiguredGroup) {
  auto spec = HookSpec{{"id", "-g"}, 5s, "nobody", "daemon", {}};
  EXPECT_EQ(run_ok(spec).output_tail, "1\n");
}

TEST(AHookRunner, DropsAllCapabilitiesEvenForRootHooks) {
  for (auto user : {std::optional<std::string>{}, std::optional<std::string>{"nobody"}}) {
    auto spec = HookSpec{{"grep", "-E", "^(Cap|NoNewPrivs|Uid)", "/proc/self/status"},
                         5s,
                         user,
                         std::nullopt,
                         {}};
    auto output = run_ok(spec).output_tail;
    for (auto set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
      EXPECT_NE(output.find(fmt::format("{}:\t0000000000000000", set)), std::string::npos)
          << set << " in\n"
          << output;
    }
    EXPECT_NE(output.find("NoNewPrivs:\t1"), std::string::npos) << output;
  }
}

TEST(AHookRunner, PassesTheEventAndExtraEnvironment) {
  auto spec =
      HookSpec{{"env"}, 5s, std::nullopt, std::nullopt, {{"GREETING", "hi there"}}};
  HookEvent event{"web", "pre-checkpoint", "c-1", 4242, "/var/lib/stasis/x"};
  auto output = run_ok(spec, event).output_tail;
  for (auto line : {"GREETING=hi there", "STASIS_JOB=web", "STASIS_ACTION=pre-checkpoint",
                    "STASIS_CHECKPOINT=c-1", "STASIS_PID=4242",
                    "STASIS_IMAGES_DIR=/var/lib/stasis/x", "PATH=/usr/local/sbin"}) {
    EXPECT_NE(output.find(line), std::string::npos) << line << " in\n" << output;
  }
  EXPECT_EQ(output.find("HOSTNAME="), std::string::npos) << "daemon env leaked";
}

TEST(AHookRunner, DoesNotSplitArgumentsWithSpaces) {
  auto spec = HookSpec{{"printf", "[%s]\\n", "a b", " c "}, 5s, {}, {}, {}};
  EXPECT_EQ(run_ok(spec).output_tail, "[a b]\n[ c ]\n");
}

TEST(AHookRunner, KeepsOnlyTheOutputTail) {
  HookRunnerOptions options;
  options.output_limit = 1000;
  auto outcome =
      run_hook(shell("yes 0123456789 | head -c 100000; echo END"), {}, {}, options);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->output_tail.size(), 1000u);
  EXPECT_TRUE(outcome->output_tail.ends_with("END\n"));
}

TEST(AHookRunner, RejectsUnknownCommandsUsersAndEmptyArgv) {
  auto missing = run_hook(HookSpec{{"no-such-hook-command"}, 5s, {}, {}, {}}, {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("not found"), std::string::npos);
  auto user = run_hook(HookSpec{{"true"}, 5s, "no-such-user-x", {}, {}}, {});
  ASSERT_FALSE(user);
  EXPECT_NE(user.error().message.find("no-such-user-x"), std::string::npos);
  EXPECT_FALSE(run_hook(HookSpec{}, {}));
}

} // namespace
} // namespace stasis::manager
