// stasisd end to end with two real users: a user checkpoints (as their own
// uid: the unprivileged dump path) and restores their own process; another
// user is refused and sees nothing of it.
#include "tests/dbus/daemon_fixture.hpp"

#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A system user that exists for the test only.
class TestUser {
public:
  explicit TestUser(std::string name) : m_name(std::move(name)) {
    run_captured({"/usr/sbin/userdel", m_name});
    auto added = run_captured({"/usr/sbin/useradd", "--system", "--no-create-home",
                               "--user-group", "--shell", "/usr/sbin/nologin", m_name});
    if (added.exit_code != 0) {
      throw std::runtime_error("useradd " + m_name + " failed: " + added.err);
    }
    const passwd* entry = ::getpwnam(m_name.c_str());
    if (entry == nullptr) {
      throw std::runtime_error("useradd made no passwd entry for " + m_name);
    }
    m_uid = entry->pw_uid;
    m_gid = entry->pw_gid;
  }
  ~TestUser() { run_captured({"/usr/sbin/userdel", m_name}); }
  TestUser(const TestUser&) = delete;
  TestUser& operator=(const TestUser&) = delete;

  const std::string& name() const { return m_name; }
  uid_t uid() const { return m_uid; }
  gid_t gid() const { return m_gid; }

private:
  std::string m_name;
  uid_t m_uid = 0;
  gid_t m_gid = 0;
};

// A counter workload running as the user in its own session.
pid_t start_counter_as(const TestUser& user, const fs::path& dir) {
  fs::create_directories(dir);
  ::chown(dir.c_str(), user.uid(), user.gid());
  // A copy the user can run: the build dir may sit where only root may go
  // (a checkout under /root).
  const fs::path copy = dir / "stasis-wl-counter";
  fs::copy_file(workload_binary("stasis-wl-counter"), copy,
                fs::copy_options::overwrite_existing);
  fs::permissions(copy, fs::perms::owner_all | fs::perms::group_read |
                            fs::perms::group_exec | fs::perms::others_read |
                            fs::perms::others_exec);
  const std::string binary = copy.string();
  const std::string status = (dir / "status").string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    const int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    const gid_t gid = user.gid();
    if (::setgroups(1, &gid) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(user.uid(), user.uid(), user.uid()) != 0 ||
        ::chdir(dir.c_str()) != 0) {
      ::_exit(126);
    }
    ::close_range(3, ~0U, 0);
    ::execl(binary.c_str(), binary.c_str(), "--status", status.c_str(), nullptr);
    ::_exit(127);
  }
  claim_child(pid); // we reap it ourselves after the dump
  for (int i = 0; i < 200 && !fs::exists(status); ++i) {
    std::this_thread::sleep_for(20ms);
  }
  return pid;
}

// Asks the workload to verify itself; "" when it passes.
std::string verify(pid_t pid, const fs::path& status) {
  const auto before = read_key_values(status)["verified"];
  ::kill(pid, SIGUSR1);
  for (int i = 0; i < 250; ++i) {
    auto now = read_key_values(status);
    if (now["verified"] != before) {
      return now["check"] == "pass" ? "" : "check " + now["check"] + ": " + now["detail"];
    }
    std::this_thread::sleep_for(20ms);
  }
  return "no verification within 5 s";
}

std::string uid_line(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Uid:", 0) == 0) {
      return line;
    }
  }
  return "";
}

// Kills a pid (the workload, later its restored self) when the test ends.
struct KillOnExit {
  pid_t pid;
  ~KillOnExit() {
    if (pid > 0 && ::kill(pid, SIGKILL) == 0) {
      wait_pid_gone(pid, std::chrono::seconds(5));
    }
  }
};

class ADaemonWithUsers : public DaemonTest {};

TEST_F(ADaemonWithUsers, LetsUsersCheckpointAndRestoreOnlyTheirOwnProcesses) {
  TestUser alice("stasis-t-alice");
  TestUser bob("stasis-t-bob");
  write_policy("root.yaml", pidfile_job("root-only", dir() / "none.pid"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  const fs::path alice_dir = dir() / "alice";
  const pid_t pid = start_counter_as(alice, alice_dir);
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  ASSERT_TRUE(fs::exists(alice_dir / "status"));
  const std::string job = "user-" + std::to_string(alice.uid());

  // Bob may not checkpoint Alice's process; nothing is run for him.
  auto denied = stasisctl({"checkpoint", "--pid", std::to_string(pid)}, bob.name());
  EXPECT_EQ(denied.exit_code, 4) << denied.out << denied.err;

  // Alice checkpoints it (stopping it, streaming its pages into the store):
  // the dump runs as her uid and writes into the socket it inherits.
  auto made = stasisctl(
      {"checkpoint", "--pid", std::to_string(pid), "--stop", "--stream"}, alice.name());
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  const std::string checkpoint = made.out.substr(0, made.out.find('\n'));
  EXPECT_NE(log().find("as uid " + std::to_string(alice.uid())), std::string::npos);
  EXPECT_NE(log().find("stored streamed checkpoint " + job), std::string::npos) << log();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  release_child(pid);
  ASSERT_TRUE(wait_pid_free(pid, 10s));

  // Bob sees neither the job nor its runs and may not restore it.
  auto bob_restore = stasisctl({"restore", job}, bob.name());
  EXPECT_EQ(bob_restore.exit_code, 4) << bob_restore.out << bob_restore.err;
  auto bob_jobs = stasisctl({"jobs", "--json"}, bob.name());
  ASSERT_EQ(bob_jobs.exit_code, 0) << bob_jobs.err;
  EXPECT_EQ(bob_jobs.out.find(job), std::string::npos) << bob_jobs.out;
  EXPECT_EQ(bob_jobs.out.find("root-only"), std::string::npos) << bob_jobs.out;
  auto bob_history = stasisctl({"history", "--json"}, bob.name());
  EXPECT_EQ(bob_history.out.find(job), std::string::npos) << bob_history.out;

  // Alice restores it; it runs as her again and checks out.
  auto restored = stasisctl({"restore", job, checkpoint}, alice.name());
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err << log();
  const pid_t restored_pid = std::stoi(restored.out);
  EXPECT_EQ(restored_pid, pid);
  EXPECT_EQ(uid_line(restored_pid), fmt::format("Uid:\t{0}\t{0}\t{0}\t{0}", alice.uid()));
  EXPECT_EQ(verify(restored_pid, alice_dir / "status"), "");

  // Only Alice's two runs exist: Bob's refused requests read and ran nothing.
  auto runs = client->list_runs("", 0);
  ASSERT_TRUE(runs);
  EXPECT_EQ(runs->size(), 2u);
  for (const auto& run : *runs) {
    EXPECT_EQ(run.job, job);
  }
  ::kill(restored_pid, SIGKILL);
  wait_pid_gone(restored_pid, 5s);
}

} // namespace
} // namespace stasis::test
