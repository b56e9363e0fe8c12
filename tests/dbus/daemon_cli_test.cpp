// stasisd end to end through stasisctl: checkpoint prints the checkpoint id,
// restore prints the pid, history and jobs show the runs, and the job's hooks
// see the run in their STASIS_* environment.
#include "tests/dbus/daemon_fixture.hpp"

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A hook writing its STASIS_* environment to dir/<point>.env.
std::string env_hook(const std::string& point, const fs::path& dir) {
  return "    " + point +
         ":\n      - run: [\"/bin/sh\", \"-c\", \"env | grep ^STASIS_ > " +
         (dir / point).string() + ".$STASIS_ACTION.$$.env; true\"]\n";
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// The one file of dir whose name starts with prefix ("" when none or several).
fs::path only_file(const fs::path& dir, const std::string& prefix) {
  fs::path found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) {
      if (!found.empty()) {
        return {};
      }
      found = entry.path();
    }
  }
  return found;
}

class ADaemonDrivenByStasisctl : public DaemonTest {};

TEST_F(ADaemonDrivenByStasisctl, CheckpointsRestoresAndGivesHooksTheRunsEnvironment) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 10s));
  const fs::path hooks_dir = dir() / "hooks";
  fs::create_directories(hooks_dir);
  write_policy("hooked.yaml",
               pidfile_job("hooked", write_pidfile("hooked", workload.pid()),
                           "hooks:\n" + env_hook("post-dump", hooks_dir) +
                               env_hook("post-restore", hooks_dir) +
                               env_hook("on-success", hooks_dir)));
  start_daemon();

  auto made = stasisctl({"checkpoint", "hooked"});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  const std::string checkpoint = first_line(made.out);
  ASSERT_FALSE(checkpoint.empty());
  EXPECT_EQ(checkpoint.find_first_not_of("0123456789"), std::string::npos) << made.out;

  const auto post_dump = read_key_values(only_file(hooks_dir, "post-dump.post-dump."));
  EXPECT_EQ(post_dump.at("STASIS_JOB"), "hooked");
  EXPECT_EQ(post_dump.at("STASIS_ACTION"), "post-dump");
  EXPECT_EQ(post_dump.at("STASIS_PID"), std::to_string(workload.pid()));
  EXPECT_FALSE(post_dump.at("STASIS_IMAGES_DIR").empty());
  const auto dumped = read_key_values(only_file(hooks_dir, "on-success.on-success."));
  EXPECT_EQ(dumped.at("STASIS_CHECKPOINT"), checkpoint);
  EXPECT_EQ(dumped.at("STASIS_JOB"), "hooked");
  std::error_code ignored;
  fs::remove(only_file(hooks_dir, "on-success."), ignored);

  // An on-demand dump stops the workload; restore it by id.
  workload.reap_after_dump();
  auto restored = stasisctl({"restore", "hooked", checkpoint});
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err << log();
  const pid_t pid = std::stoi(first_line(restored.out));
  workload.adopt(pid);
  EXPECT_EQ(pid, std::stoi(post_dump.at("STASIS_PID")));
  EXPECT_EQ(workload.verify(), "");

  const auto post_restore =
      read_key_values(only_file(hooks_dir, "post-restore.post-restore."));
  EXPECT_EQ(post_restore.at("STASIS_ACTION"), "post-restore");
  EXPECT_EQ(post_restore.at("STASIS_CHECKPOINT"), checkpoint);
  EXPECT_FALSE(post_restore.at("STASIS_IMAGES_DIR").empty());
  const auto restored_env =
      read_key_values(only_file(hooks_dir, "on-success.on-success."));
  EXPECT_EQ(restored_env.at("STASIS_PID"), std::to_string(pid));
  EXPECT_EQ(restored_env.at("STASIS_CHECKPOINT"), checkpoint);

  // The runs and the job as stasisctl shows them (JSON for scripts).
  auto history = stasisctl({"--json", "history"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  auto runs = nlohmann::json::parse(history.out, nullptr, false);
  ASSERT_TRUE(runs.is_array()) << history.out;
  EXPECT_EQ(runs.size(), 2u) << history.out;
  auto jobs = stasisctl({"--json", "jobs"});
  ASSERT_EQ(jobs.exit_code, 0) << jobs.err;
  EXPECT_NE(jobs.out.find("\"hooked\""), std::string::npos) << jobs.out;
  auto status = stasisctl({"status", "hooked"});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_NE(status.out.find("hooked"), std::string::npos) << status.out;
}

} // namespace
} // namespace stasis::test
