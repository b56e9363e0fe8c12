// Target resolution against real processes, cgroups and this machine's init.
#include "manager/target_resolver.hpp"

#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;
using policy::CgroupTarget;
using policy::PidTarget;
using policy::ProcessTarget;
using policy::SystemdUnitTarget;
using policy::Target;
using PidfileTarget = policy::PidFileTarget;
using namespace std::chrono_literals;

// A process tree: sh (root) -> sh -> sleep, all named with a marker; the root
// can be held until the test has moved it (e.g. into a cgroup).
class Tree {
public:
  Tree(const std::string& marker, const std::function<void(pid_t)>& before_start = {}) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    m_pid = fork();
    if (m_pid == 0) {
      close(fds[1]);
      char go = 0;
      ssize_t got = read(fds[0], &go, 1);
      (void)got;
      setpgid(0, 0);
      int null_fd = open("/dev/null", O_RDWR);
      dup2(null_fd, 1);
      dup2(null_fd, 2);
      std::string script = "/bin/sh -c 'sleep 300; true' " + marker + "-child & wait";
      execl("/bin/sh", "sh", "-c", script.c_str(), (marker + "-root").c_str(), nullptr);
      _exit(127);
    }
    close(fds[0]);
    if (before_start) {
      before_start(m_pid);
    }
    EXPECT_EQ(write(fds[1], "g", 1), 1);
    close(fds[1]);
    // Wait until the grandchild sleep exists.
    auto until = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < until && count_sleepers() == 0) {
      std::this_thread::sleep_for(10ms);
    }
  }
  ~Tree() {
    kill(-m_pid, SIGKILL);
    waitpid(m_pid, nullptr, 0);
  }
  pid_t pid() const { return m_pid; }

private:
  int count_sleepers() const {
    int count = 0;
    for (const auto& entry : LinuxProcessTable().processes()) {
      count += entry.cmdline == "sleep 300" && entry.ppid != m_pid ? 1 : 0;
    }
    return count;
  }
  pid_t m_pid = -1;
};

std::string unique_marker() {
  return fmt::format("stasis-e2e-target-{}", getpid());
}

TEST(ARealTargetResolver, ResolvesPidsAndPidfiles) {
  Tree tree(unique_marker());
  LinuxProcessTable table;
  EXPECT_EQ(*resolve_target(PidTarget{tree.pid()}, table), tree.pid());
  auto pidfile = fs::temp_directory_path() / fmt::format("stasis-e2e-{}.pid", getpid());
  std::ofstream(pidfile) << tree.pid() << "\n";
  EXPECT_EQ(*resolve_target(PidfileTarget{pidfile}, table), tree.pid());
  fs::remove(pidfile);
}

TEST(ARealProcessTable, ReadsOnlyTheFirstBytesOfAHugeCommandLine) {
  const std::string marker = unique_marker();
  std::string first = marker + std::string(120 * 1024, 'x');
  std::string second(120 * 1024, 'y');
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    execl("/bin/sh", "sh", "-c", "sleep 300; :", first.c_str(), second.c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  std::optional<ProcessEntry> entry;
  for (int i = 0; i < 300; ++i) {
    entry = LinuxProcessTable().process(pid);
    if (entry && entry->cmdline.find(marker) != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  kill(-pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->cmdline.size(), k_max_cmdline_bytes);
  EXPECT_TRUE(entry->cmdline.starts_with("sh -c sleep 300; : " + marker + "xxx"));
}

TEST(ARealTargetResolver, FindsTheRootOfAMatchingProcessTree) {
  auto marker = unique_marker();
  Tree tree(marker);
  LinuxProcessTable table;
  auto pid = resolve_target(ProcessTarget{"/sh$|/dash$|/bash$", marker, "root"}, table);
  ASSERT_TRUE(pid) << pid.error().message;
  EXPECT_EQ(*pid, tree.pid());
}

TEST(ARealTargetResolver, ListsBothTreesWhenTwoMatch) {
  auto marker = unique_marker();
  Tree first(marker);
  Tree second(marker);
  auto pid = resolve_target(ProcessTarget{"", marker, {}}, LinuxProcessTable());
  ASSERT_FALSE(pid);
  EXPECT_NE(pid.error().message.find(fmt::format("pid {} (", first.pid())),
            std::string::npos)
      << pid.error().message;
  EXPECT_NE(pid.error().message.find(fmt::format("pid {} (", second.pid())),
            std::string::npos);
}

TEST(ARealTargetResolver, FindsTheTreeRootInACgroup) {
  LinuxProcessTable table;
  auto mount = table.cgroup2_mount();
  auto name = fmt::format("stasis-e2e-{}", getpid());
  auto dir = mount / name;
  ASSERT_TRUE(fs::create_directory(dir)) << dir << ": cannot create a cgroup";
  {
    Tree tree(unique_marker(),
              [&](pid_t pid) { std::ofstream(dir / "cgroup.procs") << pid << "\n"; });
    auto relative = resolve_target(CgroupTarget{name}, table);
    ASSERT_TRUE(relative) << relative.error().message;
    EXPECT_EQ(*relative, tree.pid());
    EXPECT_EQ(*resolve_target(CgroupTarget{dir.string()}, table), tree.pid());
  }
  // Killed processes leave the cgroup as they are reaped; then it can go.
  auto until = std::chrono::steady_clock::now() + 5s;
  while (rmdir(dir.c_str()) != 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(fs::exists(dir)) << "could not remove " << dir;
}

TEST(ARealTargetResolver, RefusesCgroupPathsOutsideTheCgroupFileSystem) {
  LinuxProcessTable table;
  auto outside = resolve_target(CgroupTarget{"/etc"}, table);
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().message, "cgroup path /etc is not under /sys/fs/cgroup");
  auto escape = resolve_target(CgroupTarget{"../../etc"}, table);
  ASSERT_FALSE(escape);
  EXPECT_NE(escape.error().message.find("leaves the cgroup file system"),
            std::string::npos);
  auto missing = resolve_target(CgroupTarget{"stasis-no-such-cgroup"}, table);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
}

TEST(ARealTargetResolver, ExplainsWhySystemdUnitsCannotBeResolved) {
  auto pid = resolve_target(SystemdUnitTarget{"stasis-no-such-unit.service"},
                            LinuxProcessTable());
  ASSERT_FALSE(pid);
  if (!fs::exists("/run/systemd/system")) {
    EXPECT_EQ(pid.error().message, "cannot resolve unit stasis-no-such-unit.service: "
                                   "systemd is not running (no /run/systemd/system)");
  } else {
    EXPECT_NE(pid.error().message.find("stasis-no-such-unit.service"), std::string::npos);
  }
}

} // namespace
} // namespace stasis::manager
