// Hooks run for real: fork, user switch, capability drop, process-group kill.
#include "manager/hook_runner.hpp"

#include <chrono>
#include <fstream>
#include <signal.h>
#include <string>
#include <thread>
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

bool process_exists(pid_t pid) {
  return kill(pid, 0) == 0 || errno != ESRCH;
}

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

TEST(AHookRunner, KillsTheWholeProcessGroupOnTimeout) {
  char pidfile[] = "/tmp/stasis-hook-XXXXXX";
  int fd = mkstemp(pidfile);
  ASSERT_GE(fd, 0);
  close(fd);
  // The hook forks a sleeper that ignores nothing; both must die.
  auto spec = shell(fmt::format("sleep 30 & echo $! > {}; wait", pidfile));
  spec.timeout = 300ms;
  auto outcome = run_ok(spec);
  EXPECT_TRUE(outcome.timed_out);
  EXPECT_EQ(outcome.signal, SIGTERM);
  EXPECT_LT(outcome.duration, 3s);
  std::ifstream in(pidfile);
  pid_t sleeper = 0;
  in >> sleeper;
  unlink(pidfile);
  ASSERT_GT(sleeper, 0);
  // The sleeper was the hook's grandchild, reparented to init: wait for it to go.
  auto until = std::chrono::steady_clock::now() + 3s;
  while (process_exists(sleeper) && std::chrono::steady_clock::now() < until) {
    std::ifstream stat(fmt::format("/proc/{}/stat", sleeper));
    std::string pid_text, comm, state;
    stat >> pid_text >> comm >> state;
    if (state == "Z") {
      break; // dead, waiting for init to reap it
    }
    std::this_thread::sleep_for(20ms);
  }
  std::ifstream stat(fmt::format("/proc/{}/stat", sleeper));
  std::string pid_text, comm, state;
  stat >> pid_text >> comm >> state;
  EXPECT_TRUE(!stat || state == "Z") << "sleeper " << sleeper << " survived";
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
