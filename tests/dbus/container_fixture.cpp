#include "tests/dbus/container_fixture.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <thread>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

long last_or_zero(const std::vector<long>& values) {
  return values.empty() ? 0 : values.back();
}

manager::ContainerCommandResult run_tool(const std::vector<std::string>& argv,
                                         bool discard_output) {
  manager::ContainerCommand command;
  command.argv = argv;
  command.timeout = 60s;
  command.discard_output = discard_output;
  auto result = manager::run_container_command(command);
  if (!result) {
    ADD_FAILURE() << "cannot run " << argv.front() << ": " << result.error().message;
    return {};
  }
  return *result;
}

void make_busybox_rootfs(const fs::path& rootfs) {
  for (const char* sub : {"bin", "proc", "dev", "sys", "tmp", "data"}) {
    fs::create_directories(rootfs / sub);
  }
  fs::copy_file("/bin/busybox", rootfs / "bin" / "busybox",
                fs::copy_options::overwrite_existing);
  fs::create_symlink("busybox", rootfs / "bin" / "sh");
  fs::create_symlink("busybox", rootfs / "bin" / "sleep");
}

ContainerTest::ContainerTest() {
  fs::create_directories(data_dir());
  ::chmod(dir().c_str(), 0755);
}

std::vector<long> ContainerTest::counter() const {
  std::vector<long> values;
  std::ifstream in(data_dir() / "counter");
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      values.push_back(std::stol(line));
    }
  }
  return values;
}

bool ContainerTest::wait_for_lines(std::size_t lines,
                                   std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (counter().size() >= lines) {
      return true;
    }
    std::this_thread::sleep_for(50ms);
  }
  return counter().size() >= lines;
}

void ContainerTest::install_example(
    const std::string& example,
    const std::vector<std::pair<std::string, std::string>>& rewrites) {
  std::string text = read_text(fs::path(STASIS_SOURCE_DIR) / "examples" / example);
  ASSERT_FALSE(text.empty()) << "examples/" << example << " is missing";
  for (const auto& [from, to] : rewrites) {
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos)
        << "examples/" << example << " has no '" << from << "'";
    text.replace(at, from.size(), to);
  }
  const fs::path target = policy_dir() / example;
  std::ofstream(target) << text;
  fs::permissions(target, fs::perms::owner_read | fs::perms::owner_write |
                              fs::perms::group_read | fs::perms::others_read);
}

void ContainerTest::checkpoint_kill_restore(const std::string& job,
                                            const std::function<pid_t()>& init_pid,
                                            const std::function<void()>& stop) {
  ASSERT_TRUE(wait_for_lines(5, 10s)) << "the container's counter does not count";
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);

  // The checkpoint saw a value between these two.
  const long before = last_or_zero(counter());
  const pid_t running = init_pid();
  ASSERT_GT(running, 0);
  auto run = client->checkpoint(job, {});
  ASSERT_TRUE(run) << run.error().message;
  auto info = wait_run(*client, *run, 60s);
  ASSERT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();
  const long after = last_or_zero(counter());
  EXPECT_EQ(info.pid, running);
  EXPECT_GT(info.logical_bytes, 0u);
  auto checkpoints = client->list_checkpoints(job);
  ASSERT_TRUE(checkpoints);
  // (A scheduled job may also have made one when stasisd started.)
  EXPECT_TRUE(
      std::any_of(checkpoints->begin(), checkpoints->end(),
                  [&](const auto& stored) { return stored.id == info.checkpoint; }));
  auto verified = client->verify(job, info.checkpoint);
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_TRUE(verified->ok);
  // It exports like any other checkpoint: one file, and a plain images dir.
  const auto exported = dir() / "export.stasis";
  auto export_file = stasisctl({"export", "--state-dir", state_dir().string(), job,
                                info.checkpoint, exported.string()});
  EXPECT_EQ(export_file.exit_code, 0) << export_file.err;
  EXPECT_GT(fs::file_size(exported), 0u);
  auto export_dir =
      stasisctl({"export", "--state-dir", state_dir().string(), "--criu-dir", job,
                 info.checkpoint, (dir() / "exported").string()});
  EXPECT_EQ(export_dir.exit_code, 0) << export_dir.err;
  EXPECT_TRUE(fs::exists(dir() / "exported" / "inventory.img"));

  stop();
  const std::size_t lines_at_stop = counter().size();
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(counter().size(), lines_at_stop) << "the container still counts after stop";

  auto restore = client->restore(job, info.checkpoint, {});
  ASSERT_TRUE(restore) << restore.error().message;
  auto restored = wait_run(*client, *restore, 60s);
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  ASSERT_GT(restored.pid, 0);
  EXPECT_EQ(init_pid(), restored.pid);

  ASSERT_TRUE(wait_for_lines(lines_at_stop + 5, 10s))
      << "the restored counter does not count";
  const auto values = counter();
  for (std::size_t i = 1; i < lines_at_stop; ++i) {
    ASSERT_EQ(values[i], values[i - 1] + 1) << "gap before the checkpoint at line " << i;
  }
  // The first number after the restore continues the checkpointed counter.
  const long resumed = values[lines_at_stop] - 1;
  EXPECT_GE(resumed, before) << "the restored counter went back before the checkpoint";
  EXPECT_LE(resumed, after) << "the restored counter skipped numbers";
  EXPECT_GT(resumed, 0) << "the counter restarted instead of being restored";
  for (std::size_t i = lines_at_stop + 1; i < values.size(); ++i) {
    ASSERT_EQ(values[i], values[i - 1] + 1) << "gap after the restore at line " << i;
  }
}

} // namespace stasis::test
