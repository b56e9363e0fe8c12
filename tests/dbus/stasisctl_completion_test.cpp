// The bash completion of stasisctl (completion/stasisctl.bash) in a real bash
// with an empty environment (as in CI: no SHELL, no TERM), against a real
// stasisd on a private bus: commands, options, job names and checkpoint ids.
// And completion never starts a D-Bus-activatable stasisd.
#include "tests/dbus/daemon_fixture.hpp"

#include <fstream>
#include <sstream>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

class StasisctlCompletion : public DaemonTest {
protected:
  // What _stasisctl offers for the words typed (the last one is completed).
  std::vector<std::string> complete(const std::vector<std::string>& words) {
    std::string script =
        "source '" STASIS_SOURCE_DIR "/completion/stasisctl.bash' || exit 9\n"
        "complete -p stasisctl || exit 8\n"
        "COMP_WORDS=(";
    for (const auto& w : words) {
      script += "'" + w + "' ";
    }
    script += ")\nCOMP_CWORD=" + std::to_string(words.size() - 1) +
              "\n_stasisctl\nprintf 'offered:%s\\n' \"${COMPREPLY[@]}\"\n";
    const std::string bin_dir =
        std::filesystem::path(STASISCTL_PATH).parent_path().string();
    const auto result =
        run_captured({"/usr/bin/env", "-i", "PATH=" + bin_dir + ":/usr/bin:/bin",
                      "STASIS_BUS_ADDRESS=" + bus_address(), "/bin/bash", "--norc",
                      "--noprofile", "-c", script});
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    EXPECT_NE(result.out.find("complete -F _stasisctl stasisctl"), std::string::npos)
        << result.out;
    std::vector<std::string> offered;
    std::istringstream lines(result.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("offered:", 0) == 0 && line.size() > 8) {
        offered.push_back(line.substr(8));
      }
    }
    return offered;
  }

  static bool has(const std::vector<std::string>& offered, const std::string& word) {
    return std::find(offered.begin(), offered.end(), word) != offered.end();
  }
};

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& w : words) {
    text += w + " ";
  }
  return text;
}

TEST_F(StasisctlCompletion, CompletesCommandsOptionsJobsAndCheckpointIdsInARealBash) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 10s));
  write_policy("web.yaml",
               pidfile_job("webshop", write_pidfile("webshop", workload.pid()),
                           "criu:\n  leave-running: true\n"));
  start_daemon();
  const auto made = stasisctl({"checkpoint", "webshop"});
  ASSERT_EQ(made.exit_code, 0) << made.err << log();
  const auto ids = stasisctl({"checkpoints", "--quiet", "webshop"});
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  const std::string id = ids.out.substr(0, ids.out.find('\n'));
  ASSERT_FALSE(id.empty());

  auto offered = complete({"stasisctl", "di"});
  EXPECT_TRUE(has(offered, "diff")) << joined(offered);
  offered = complete({"stasisctl", "inspect", "--pr"});
  EXPECT_TRUE(has(offered, "--preview")) << joined(offered);
  offered = complete({"stasisctl", "show", "web"});
  EXPECT_EQ(offered, std::vector<std::string>{"webshop"});
  offered = complete({"stasisctl", "diff", "webshop", ""});
  EXPECT_TRUE(has(offered, id)) << joined(offered);
  EXPECT_TRUE(has(offered, "latest")) << joined(offered);
  offered = complete({"stasisctl", "diff", "webshop", id, "la"});
  EXPECT_EQ(offered, std::vector<std::string>{"latest"});
  offered = complete({"stasisctl", "restore", "webshop", ""});
  EXPECT_TRUE(has(offered, id)) << joined(offered);
}

TEST_F(StasisctlCompletion, FishCompletesJobsAndIdsAndZshParsesItsScript) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 10s));
  write_policy("web.yaml",
               pidfile_job("webshop", write_pidfile("webshop", workload.pid()),
                           "criu:\n  leave-running: true\n"));
  start_daemon();
  ASSERT_EQ(stasisctl({"checkpoint", "webshop"}).exit_code, 0) << log();
  const std::string bin_dir =
      std::filesystem::path(STASISCTL_PATH).parent_path().string();
  const std::vector<std::string> env{
      "/usr/bin/env", "-i", "PATH=" + bin_dir + ":/usr/bin:/bin",
      "HOME=" + dir().string(), "STASIS_BUS_ADDRESS=" + bus_address()};
  auto fish = env;
  fish.insert(fish.end(),
              {"/usr/bin/fish", "--no-config", "-c",
               "source '" STASIS_SOURCE_DIR "/completion/stasisctl.fish'; "
               "complete -C 'stasisctl show web'; complete -C 'stasisctl diff webshop '; "
               "complete -C 'stasisctl insp'"});
  const auto fished = run_captured(fish);
  ASSERT_EQ(fished.exit_code, 0) << fished.out << fished.err;
  EXPECT_NE(fished.out.find("webshop"), std::string::npos) << fished.out;
  EXPECT_NE(fished.out.find("latest"), std::string::npos) << fished.out;
  EXPECT_NE(fished.out.find("inspect"), std::string::npos) << fished.out;

  auto zsh = env;
  zsh.insert(zsh.end(),
             {"/usr/bin/zsh", "-n", STASIS_SOURCE_DIR "/completion/_stasisctl"});
  const auto zshed = run_captured(zsh);
  EXPECT_EQ(zshed.exit_code, 0) << zshed.out << zshed.err;
}

TEST_F(StasisctlCompletion, NeverStartsAStasisdThatDBusActivationWouldStart) {
  // An activatable io.stasis.Stasis1 that leaves a mark when the bus starts it.
  const auto mark = dir() / "activated";
  std::ofstream(bus_dir() / "services" / "io.stasis.Stasis1.service")
      << "[D-BUS Service]\nName=io.stasis.Stasis1\nExec=/bin/sh -c 'touch "
      << mark.string() << "; exit 1'\n"; // failing at once: no 25 s activation timeout

  const auto jobs = stasisctl({"jobs", "--quiet"});
  EXPECT_EQ(jobs.exit_code, 3) << jobs.out << jobs.err;
  EXPECT_EQ(jobs.out, "");
  EXPECT_EQ(jobs.err, "");
  const auto ids = stasisctl({"checkpoints", "--quiet", "webshop"});
  EXPECT_EQ(ids.exit_code, 3) << ids.out << ids.err;
  EXPECT_EQ(ids.out, "");
  EXPECT_EQ(complete({"stasisctl", "checkpoints", ""}), std::vector<std::string>{});
  EXPECT_EQ(complete({"stasisctl", "restore", "webshop", ""}),
            std::vector<std::string>{"latest"});
  EXPECT_FALSE(std::filesystem::exists(mark)) << "completion started stasisd";

  // The check sees activation when it happens: an ordinary call starts it.
  stasisctl({"jobs"});
  EXPECT_TRUE(std::filesystem::exists(mark)) << "the bus did not activate the service";
}

} // namespace
} // namespace stasis::test
