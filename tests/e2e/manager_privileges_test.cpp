// The dump worker's privilege drop, checked with a real exec and the real CRIU.
#include "manager/identity.hpp"
#include "manager/privileges.hpp"

#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <signal.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* k_criu = "/opt/stasis/criu/bin/criu";

struct ChildResult {
  int status = -1;
  std::string output;
};

// Forks, runs prepare() in the child, then execs argv; returns status and output.
ChildResult run_child(const std::function<Result<void>()>& prepare,
                      std::vector<std::string> argv) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  std::vector<char*> args;
  for (auto& arg : argv) {
    args.push_back(arg.data());
  }
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    if (auto prepared = prepare(); !prepared) {
      fprintf(stderr, "prepare: %s\n", prepared.error().message.c_str());
      _exit(126);
    }
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  ChildResult result;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) {
    result.output.append(buffer, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  waitpid(pid, &result.status, 0);
  return result;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
  }
  return text;
}

std::string status_line(const std::string& status, const std::string& key) {
  auto at = status.find(key + ":\t");
  return at == std::string::npos ? "" : status.substr(at, status.find('\n', at) - at);
}

TEST(APrivilegeDrop, KeepsExactlyTheCheckpointCapabilitiesAsAmbient) {
  auto nobody = lookup_user("nobody");
  ASSERT_TRUE(nobody) << nobody.error().message;
  auto child =
      run_child([&] { return drop_to_user_keep_checkpoint_caps(*nobody); },
                {"/bin/grep", "-E", "^(Cap|Uid|Gid|Groups)", "/proc/self/status"});
  ASSERT_TRUE(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0) << child.output;
  // CAP_SYS_PTRACE is bit 19, CAP_CHECKPOINT_RESTORE bit 40.
  const std::string both = "0000010000080000";
  EXPECT_EQ(status_line(child.output, "CapAmb"), "CapAmb:\t" + both);
  EXPECT_EQ(status_line(child.output, "CapEff"), "CapEff:\t" + both);
  EXPECT_EQ(status_line(child.output, "CapPrm"), "CapPrm:\t" + both);
  EXPECT_EQ(status_line(child.output, "CapBnd"), "CapBnd:\t" + both);
  EXPECT_EQ(status_line(child.output, "Uid"), "Uid:\t65534\t65534\t65534\t65534");
  EXPECT_EQ(status_line(child.output, "Gid"), "Gid:\t65534\t65534\t65534\t65534");
}

TEST(APrivilegeDrop, UidGidFormLooksUpTheSupplementaryGroups) {
  auto child = run_child([] { return drop_to_user_keep_checkpoint_caps(65534, 65534); },
                         {"/bin/grep", "-E", "^(Uid|Groups)", "/proc/self/status"});
  EXPECT_EQ(status_line(child.output, "Uid"), "Uid:\t65534\t65534\t65534\t65534");
  EXPECT_EQ(status_line(child.output, "Groups"), "Groups:\t65534 ");
}

TEST(APrivilegeDrop, WithoutCapsLeavesNothingEvenForRoot) {
  auto root = lookup_user("root");
  ASSERT_TRUE(root);
  auto child = run_child([&] { return drop_to_user_without_caps(*root); },
                         {"/bin/grep", "-E", "^(Cap|Uid)", "/proc/self/status"});
  for (auto set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(status_line(child.output, set), std::string(set) + ":\t0000000000000000");
  }
  EXPECT_EQ(status_line(child.output, "Uid"), "Uid:\t0\t0\t0\t0");
}

// The design the engine will use: dump as the target's uid, restore as root.
TEST(AnUnprivilegedDumpWorker, DumpsANobodyProcessThatRootThenRestores) {
  ASSERT_TRUE(fs::exists(k_criu)) << k_criu << " missing: run scripts/provision-criu.sh";
  auto nobody = lookup_user("nobody");
  ASSERT_TRUE(nobody);
  char dir_template[] = "/tmp/stasis-unpriv-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const fs::path dir = dir_template;
  ASSERT_EQ(chown(dir.c_str(), nobody->uid, nobody->gid), 0);

  // The target: a sleeper running as nobody in its own session.
  pid_t target = fork();
  if (target == 0) {
    setsid();
    // A cwd nobody can reach (the build dir under /root) would fail the dump.
    if (chdir("/") != 0) {
      _exit(125);
    }
    int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    close_range(3, ~0U, 0); // nothing of ours (ctest's files) in the image
    if (!drop_to_user_without_caps(*nobody)) {
      _exit(126);
    }
    execl("/bin/sleep", "sleep", "1000", nullptr);
    _exit(127);
  }
  std::this_thread::sleep_for(100ms);

  // CRIU as nobody, in a cwd nobody can reach (ctest runs us in the build dir).
  auto dump = run_child(
      [&]() -> Result<void> {
        STASIS_TRY(drop_to_user_keep_checkpoint_caps(*nobody));
        if (chdir("/") != 0) {
          return make_error("chdir /: {}", std::strerror(errno));
        }
        return ok();
      },
      {k_criu, "dump", "--unprivileged", "-t", std::to_string(target), "-D", dir.string(),
       "-o", "dump.log"});
  std::string log_text = read_text(dir / "dump.log");
  EXPECT_TRUE(WIFEXITED(dump.status) && WEXITSTATUS(dump.status) == 0)
      << dump.output << "\n--- dump.log tail:\n"
      << log_text.substr(log_text.size() > 3000 ? log_text.size() - 3000 : 0);
  if (!WIFEXITED(dump.status) || WEXITSTATUS(dump.status) != 0) {
    kill(target, SIGKILL); // never wait for a sleeper the dump did not take
  }
  int status = 0;
  waitpid(target, &status, 0); // the dump killed it; reap so the pid is free
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  auto restore = run_child([] { return ok(); }, {k_criu, "restore", "-d", "-D",
                                                 dir.string(), "-o", "restore.log"});
  EXPECT_TRUE(WIFEXITED(restore.status) && WEXITSTATUS(restore.status) == 0)
      << restore.output;
  std::string status_text = read_text(fmt::format("/proc/{}/status", target));
  EXPECT_EQ(status_line(status_text, "Uid"), "Uid:\t65534\t65534\t65534\t65534");
  EXPECT_NE(status_text.find("Name:\tsleep"), std::string::npos);
  kill(target, SIGKILL);
  fs::remove_all(dir);
}

} // namespace
} // namespace stasis::manager
