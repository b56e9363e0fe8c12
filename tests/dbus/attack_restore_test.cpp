// Attacks on restores, played by a real second user against a real stasisd
// and CRIU: a restore must never give a user more than she has.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"
#include "tests/support/process.hpp"
#include "tests/support/subreaper.hpp"

#include <cstring>
#include <fstream>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* k_user_bytes = "harmless bytes of the user's own file.";
constexpr const char* k_root_bytes = "ROOT ONLY: the secret eve must never read";

std::string hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

void write_file(const fs::path& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

// Processes that hold `file` open, found through /proc/*/fd.
std::vector<pid_t> holders_of(const fs::path& file) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& proc : fs::directory_iterator("/proc", ec)) {
    const std::string name = proc.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::error_code inner;
    for (const auto& fd : fs::directory_iterator(proc.path() / "fd", inner)) {
      if (fs::read_symlink(fd.path(), inner) == file) {
        found.push_back(std::stoi(name));
        break;
      }
    }
  }
  return found;
}

// Reaps a workload of ours that CRIU (or the test) killed.
void reap(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  release_child(pid);
}

class AUserRestore : public DaemonTest {};

// The critical hole: she checkpoints a process holding her own file, turns
// the directory on its path into a symlink to a root-only directory, and
// restores. CRIU running as root would follow the link and give her restored
// process root's file; running with her rights it may not open it.
TEST_F(AUserRestore, NeverReopensHerFilesWithRootsRights) {
  TestUser eve("stasis-t-atk-eve");
  const std::string home_dir = "eve";
  const fs::path home = dir() / home_dir;
  const fs::path data = home / "d";
  fs::create_directories(data);
  ASSERT_EQ(::chown(home.c_str(), eve.uid(), eve.gid()), 0);
  ASSERT_EQ(::chown(data.c_str(), eve.uid(), eve.gid()), 0);
  std::string user_bytes = k_user_bytes;
  user_bytes.resize(std::string(k_root_bytes).size(), '.');
  write_file(data / "secret", user_bytes, 0640); // the mode of /etc/shadow
  ASSERT_EQ(::chown((data / "secret").c_str(), eve.uid(), eve.gid()), 0);
  // Root's file of the same size, in a directory only root may enter.
  const fs::path vault = dir() / "vault";
  fs::create_directories(vault);
  ::chmod(vault.c_str(), 0700);
  write_file(vault / "secret", k_root_bytes, 0640);

  start_daemon();
  const pid_t pid = start_workload_as(eve, "stasis-wl-holder", home,
                                      {"--open", (data / "secret").string()});
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  const std::string job = "user-" + std::to_string(eve.uid());

  auto made =
      stasisctl({"checkpoint", "--pid", std::to_string(pid), "--stop"}, eve.name());
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  const std::string checkpoint = made.out.substr(0, made.out.find('\n'));
  reap(pid);
  ASSERT_TRUE(wait_pid_free(pid, 10s));

  // Her directory becomes a link to root's (she owns its parent).
  fs::rename(data, home / "d.old");
  fs::create_directory_symlink(vault, data);
  (void)home_dir;

  auto restored = stasisctl({"restore", job, checkpoint}, eve.name());
  std::vector<pid_t> holders = holders_of(vault / "secret");
  const auto status = read_key_values(home / "status");
  for (const pid_t holder : holders) {
    ::kill(holder, SIGKILL);
  }
  if (restored.exit_code == 0) {
    const pid_t restored_pid = std::atoi(restored.out.c_str());
    KillOnExit restored_guard{restored_pid};
  }
  EXPECT_TRUE(holders.empty()) << "a restored process of eve holds root's file open";
  EXPECT_NE(status.count("held") ? status.at("held") : "", hex(k_root_bytes))
      << "eve's restored process read root's file";
  EXPECT_NE(restored.exit_code, 0) << restored.out;
  EXPECT_NE(restored.err.find("Permission denied"), std::string::npos)
      << restored.err << log();
  EXPECT_NE(log().find("with the rights of uid " + std::to_string(eve.uid())),
            std::string::npos)
      << log();
}

// The same user, nothing planted: her restore runs with her rights and her
// process comes back holding her file.
TEST_F(AUserRestore, RunsWithHerRightsAndGivesHerProcessBack) {
  TestUser eve("stasis-t-atk-eve2");
  const fs::path home = dir() / "eve2";
  fs::create_directories(home);
  ASSERT_EQ(::chown(home.c_str(), eve.uid(), eve.gid()), 0);
  write_file(home / "mine", k_user_bytes, 0600);
  ASSERT_EQ(::chown((home / "mine").c_str(), eve.uid(), eve.gid()), 0);
  start_daemon();
  const pid_t pid = start_workload_as(eve, "stasis-wl-holder", home,
                                      {"--open", (home / "mine").string()});
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  auto made =
      stasisctl({"checkpoint", "--pid", std::to_string(pid), "--stop"}, eve.name());
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  const std::string checkpoint = made.out.substr(0, made.out.find('\n'));
  reap(pid);
  ASSERT_TRUE(wait_pid_free(pid, 10s));

  auto restored =
      stasisctl({"restore", "user-" + std::to_string(eve.uid()), checkpoint}, eve.name());
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err << log();
  const pid_t restored_pid = std::atoi(restored.out.c_str());
  KillOnExit restored_guard{restored_pid};
  EXPECT_EQ(uid_line(restored_pid), fmt::format("Uid:\t{0}\t{0}\t{0}\t{0}", eve.uid()));
  EXPECT_EQ(verify_workload(restored_pid, home / "status"), "");
  EXPECT_NE(log().find("with the rights of uid " + std::to_string(eve.uid())),
            std::string::npos)
      << log();
}

// Her restore into a new PID namespace runs with her rights too (the
// namespace's init and CRIU) and gives her process back.
TEST_F(AUserRestore, IntoANewPidNamespaceRunsWithHerRights) {
  TestUser eve("stasis-t-atk-pidns");
  const fs::path home = dir() / "eve";
  start_daemon();
  const pid_t pid = start_workload_as(eve, "stasis-wl-counter", home);
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  auto made =
      stasisctl({"checkpoint", "--pid", std::to_string(pid), "--stop"}, eve.name());
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  const std::string checkpoint = made.out.substr(0, made.out.find('\n'));
  reap(pid);
  ASSERT_TRUE(wait_pid_free(pid, 10s));

  const std::string job = "user-" + std::to_string(eve.uid());
  // A lazy restore would need the lazy-pages daemon to run as her, which
  // CRIU does not do: refused, never run as root instead.
  auto lazy = stasisctl({"restore", "--lazy", job, checkpoint}, eve.name());
  EXPECT_NE(lazy.exit_code, 0) << lazy.out;
  EXPECT_NE(lazy.err.find("cannot be restored lazily"), std::string::npos) << lazy.err;
  EXPECT_TRUE(wait_pid_free(pid, 0ms)) << "something was restored";

  auto restored = stasisctl({"restore", "--new-pidns", job, checkpoint}, eve.name());
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err << log();
  const pid_t restored_pid = std::atoi(restored.out.c_str());
  ASSERT_GT(restored_pid, 0) << restored.out;
  KillOnExit restored_guard{restored_pid};
  EXPECT_EQ(uid_line(restored_pid), fmt::format("Uid:\t{0}\t{0}\t{0}\t{0}", eve.uid()));
  EXPECT_EQ(verify_workload(restored_pid, home / "status"), "");
  EXPECT_NE(log().find("with the rights of uid " + std::to_string(eve.uid())),
            std::string::npos)
      << log();
}

// Root's policy job of her process writes restore.pidfile into her
// directory. She replaces the pidfile by a link to a file of root's: stasisd
// writes it with her rights and never through a link, so root's file stays
// as it was, and the restore itself succeeds.
TEST_F(AUserRestore, NeverWritesTheRestorePidfileThroughALinkOfHers) {
  TestUser eve("stasis-t-atk-pidf");
  const fs::path home = dir() / "eve";
  fs::create_directories(home);
  ASSERT_EQ(::chown(home.c_str(), eve.uid(), eve.gid()), 0);
  const fs::path roots = dir() / "roots-file";
  write_file(roots, k_root_bytes, 0644);
  const pid_t pid = start_workload_as(eve, "stasis-wl-counter", home);
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  const fs::path app_pid = home / "app.pid";
  write_policy("eve.yaml", pidfile_job("eve-app", write_pidfile("eve-app", pid),
                                       "restore: {pidfile: " + app_pid.string() + "}\n"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  auto made = client->checkpoint("eve-app", {});
  ASSERT_TRUE(made) << made.error().message;
  const auto dumped = wait_run(*client, *made);
  ASSERT_EQ(dumped.state, manager::RunState::Succeeded) << dumped.error << log();
  ::kill(pid, SIGKILL);
  reap(pid);
  ASSERT_TRUE(wait_pid_free(pid, 10s));

  // Her link, in her directory, to root's file.
  fs::create_symlink(roots, app_pid);
  ASSERT_EQ(::lchown(app_pid.c_str(), eve.uid(), eve.gid()), 0);
  auto asked = client->restore("eve-app", dumped.checkpoint, {});
  ASSERT_TRUE(asked) << asked.error().message;
  const auto restored = wait_run(*client, *asked);
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << log();
  KillOnExit restored_guard{restored.pid};
  std::ifstream in(roots);
  const std::string now((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(now, k_root_bytes) << "stasisd wrote the pidfile through eve's link";
  EXPECT_NE(log().find("restore.pidfile"), std::string::npos) << log();
  EXPECT_EQ(uid_line(restored.pid), fmt::format("Uid:\t{0}\t{0}\t{0}\t{0}", eve.uid()));

  // Without her link the pidfile is written, as hers.
  ::kill(restored.pid, SIGKILL);
  ASSERT_TRUE(wait_pid_free(restored.pid, 10s));
  fs::remove(app_pid);
  auto again = client->restore("eve-app", dumped.checkpoint, {});
  ASSERT_TRUE(again) << again.error().message;
  const auto second = wait_run(*client, *again);
  ASSERT_EQ(second.state, manager::RunState::Succeeded) << second.error << log();
  KillOnExit second_guard{second.pid};
  std::ifstream written(app_pid);
  pid_t listed = 0;
  written >> listed;
  EXPECT_EQ(listed, second.pid);
  struct stat st {};
  ASSERT_EQ(::stat(app_pid.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, eve.uid());
}

class AUserCheckpoint : public DaemonTest {};

// Pid reuse: she asks for a checkpoint of her process while the run has to
// wait, then lets her process die; a root process gets its pid before the
// run starts. The run must notice and touch nothing of root's.
TEST_F(AUserCheckpoint, NeverDumpsAProcessThatTookThePidOfHers) {
  TestUser eve("stasis-t-atk-pid");
  const fs::path go = dir() / "go";
  auto blocker = Workload::start("stasis-wl-counter", {}, dir() / "blocker");
  ASSERT_TRUE(blocker.wait_for_ticks(2, 5s));
  // A root job whose pre-dump hook holds the only run slot until `go` exists.
  write_policy("blocker.yaml",
               pidfile_job("blocker", write_pidfile("blocker", blocker.pid()),
                           "criu: {leave-running: true}\n"
                           "hooks:\n  pre-dump:\n    - run: [\"/bin/sh\", \"-c\", "
                           "\"while [ ! -e " +
                               go.string() + " ]; do sleep 0.02; done\"]\n"));
  start_daemon({"--max-runs", "1"});
  auto client = this->client();
  ASSERT_TRUE(client);
  auto held = client->checkpoint("blocker", {});
  ASSERT_TRUE(held) << held.error().message;

  const fs::path home = dir() / "eve";
  const pid_t pid = start_workload_as(eve, "stasis-wl-counter", home);
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  auto asked = stasisctl(
      {"checkpoint", "--pid", std::to_string(pid), "--stop", "--no-wait"}, eve.name());
  ASSERT_EQ(asked.exit_code, 0) << asked.out << asked.err << log();
  const std::string run = asked.out.substr(0, asked.out.find('\n'));

  // Her process dies; a process of root's takes its pid.
  ::kill(pid, SIGKILL);
  reap(pid);
  ASSERT_TRUE(wait_pid_free(pid, 10s));
  const pid_t root_pid = spawn_at_pid(pid, {"/bin/sleep", "1000"});
  ASSERT_EQ(root_pid, pid) << std::strerror(errno);
  KillOnExit root_guard{root_pid};

  std::ofstream(go) << "go\n";
  EXPECT_EQ(wait_run(*client, *held).state, manager::RunState::Succeeded) << log();
  const auto info = wait_run(*client, run);
  EXPECT_EQ(info.state, manager::RunState::Failed) << log();
  EXPECT_NE(info.error.find("since the request"), std::string::npos) << info.error;
  // Root's process was not stopped, killed or stored.
  const auto stat = read_proc_stat(root_pid);
  ASSERT_TRUE(stat.has_value()) << "root's process is gone";
  EXPECT_NE(stat->state, 'Z');
  EXPECT_NE(stat->state, 'T');
  auto checkpoints = client->list_checkpoints("user-" + std::to_string(eve.uid()));
  EXPECT_TRUE(!checkpoints || checkpoints->empty());
}

} // namespace
} // namespace stasis::test
