// Process and policy-file checks against real processes and files.
#include "manager/authorization.hpp"
#include "manager/capabilities.hpp"

#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A child that switches identity with become(), then sleeps until killed.
class Sleeper {
public:
  explicit Sleeper(const std::function<bool()>& become) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    m_pid = fork();
    if (m_pid == 0) {
      close(fds[0]);
      char verdict = become() ? 'y' : 'n';
      ssize_t written = write(fds[1], &verdict, 1);
      (void)written;
      close(fds[1]);
      pause();
      _exit(0);
    }
    close(fds[1]);
    char verdict = 0;
    EXPECT_EQ(read(fds[0], &verdict, 1), 1);
    EXPECT_EQ(verdict, 'y') << "the child could not switch identity";
    close(fds[0]);
  }
  ~Sleeper() {
    kill(m_pid, SIGKILL);
    waitpid(m_pid, nullptr, 0);
  }
  pid_t pid() const { return m_pid; }

private:
  pid_t m_pid = -1;
};

TEST(AProcessCheckOnRealProcesses, LetsTheOwnerCheckpointItsProcess) {
  Sleeper sleeper([] {
    return setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0;
  });
  auto result = check_own_process(Caller{65534, 65534, 1}, sleeper.pid());
  EXPECT_TRUE(result) << result.error().message;
  EXPECT_TRUE(check_own_process(Caller{0, 0, 1}, sleeper.pid()));
}

TEST(AProcessCheckOnRealProcesses, RefusesAnotherUsersProcess) {
  Sleeper sleeper([] { return setresuid(65534, 65534, 65534) == 0; });
  auto result = check_own_process(Caller{1234, 1234, 1}, sleeper.pid());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::AccessDenied);
  EXPECT_EQ(result.error().message.find(
                fmt::format("process {} belongs to uid 65534", sleeper.pid())),
            0u)
      << result.error().message;
}

TEST(AProcessCheckOnRealProcesses, RefusesASetuidLikeProcessWithMixedUids) {
  Sleeper sleeper([] { return setresuid(65534, 1234, 65534) == 0; });
  auto result = check_own_process(Caller{65534, 65534, 1}, sleeper.pid());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::AccessDenied);
  EXPECT_NE(result.error().message.find("65534/1234/65534/1234"), std::string::npos)
      << result.error().message;
}

TEST(AProcessCheckOnRealProcesses, RefusesAProcessInAnotherUserNamespace) {
  Sleeper sleeper([] {
    return setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0 &&
           unshare(CLONE_NEWUSER) == 0;
  });
  auto result = check_own_process(Caller{65534, 65534, 1}, sleeper.pid());
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("user namespace"), std::string::npos);
}

TEST(AProcessCheckOnRealProcesses, RefusesKernelThreads) {
  auto result = check_own_process(Caller{0, 0, 1}, 2); // kthreadd
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("kernel thread"), std::string::npos);
}

// The daemon's rule for policy files, walked from "/" (policy_path_rule):
// owners other than root are refused on every entry of the way.
class APolicyFileCheck : public ::testing::Test {
protected:
  void SetUp() override {
    char name[] = "/tmp/stasis-policy-XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    m_dir = name;
    chmod(m_dir.c_str(), 0755);
    m_file = m_dir / "jobs.yaml";
    std::ofstream(m_file) << "version: 1\n";
    chmod(m_file.c_str(), 0644);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  std::string refusal(const fs::path& path) {
    auto opened =
        util::walk_open(path, util::WalkTarget::RegularFile, policy_path_rule());
    EXPECT_FALSE(opened) << path;
    return opened ? "" : opened.error().message;
  }

  fs::path m_dir;
  fs::path m_file;
};

TEST_F(APolicyFileCheck, AcceptsARootOwnedFileWritableOnlyByRoot) {
  EXPECT_TRUE(util::walk_open(m_file, util::WalkTarget::RegularFile, policy_path_rule()));
}

TEST_F(APolicyFileCheck, RefusesAFileNotOwnedByRoot) {
  ASSERT_EQ(chown(m_file.c_str(), 65534, 65534), 0);
  EXPECT_EQ(refusal(m_file),
            fmt::format("policy file {0} is owned by uid 65534 (nobody), not root: that "
                        "user could change the policies, whose hooks run as root (fix: "
                        "chown root {0})",
                        m_file.string()));
}

TEST_F(APolicyFileCheck, RefusesADirectoryOnTheWayNotOwnedByRoot) {
  ASSERT_EQ(chown(m_dir.c_str(), 65534, 65534), 0);
  EXPECT_NE(refusal(m_file).find("directory " + m_dir.string() +
                                 " is owned by uid 65534 (nobody), not root"),
            std::string::npos);
}

TEST_F(APolicyFileCheck, RefusesASymlinkNotOwnedByRoot) {
  const auto link = m_dir / "link.yaml";
  fs::create_symlink(m_file, link);
  ASSERT_EQ(lchown(link.c_str(), 65534, 65534), 0);
  EXPECT_NE(refusal(link).find("symlink " + link.string() + " is owned by uid 65534"),
            std::string::npos);
}

TEST_F(APolicyFileCheck, RefusesAGroupOrWorldWritableFile) {
  for (mode_t mode : {0664, 0646}) {
    chmod(m_file.c_str(), mode);
    EXPECT_NE(refusal(m_file).find("(fix: chmod go-w " + m_file.string() + ")"),
              std::string::npos);
  }
}

TEST(TheDaemonCapabilityCheck, FindsEverythingWhenRunAsRoot) {
  auto report = check_daemon_capabilities();
  EXPECT_TRUE(report.sufficient()) << report.problems.front();
  EXPECT_TRUE(report.present.sys_ptrace);
}

} // namespace
} // namespace stasis::manager
