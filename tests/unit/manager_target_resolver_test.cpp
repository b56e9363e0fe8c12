#include "manager/target_candidates.hpp"
#include "manager/target_resolver.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <sys/stat.h>
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

class FakeProcessTable : public ProcessTable {
public:
  void add(pid_t pid, pid_t ppid, const std::string& exe, const std::string& cmdline,
           uid_t uid = 0, bool kernel_thread = false) {
    m_processes[pid] = ProcessEntry{pid, ppid, uid, exe, cmdline, kernel_thread};
  }
  std::vector<ProcessEntry> processes() const override {
    std::vector<ProcessEntry> all;
    for (const auto& [pid, entry] : m_processes) {
      all.push_back(entry);
    }
    return all;
  }
  std::optional<ProcessEntry> process(pid_t pid) const override {
    auto found = m_processes.find(pid);
    return found == m_processes.end() ? std::nullopt : std::optional(found->second);
  }
  Result<std::vector<pid_t>> cgroup_members(const std::string& path) const override {
    auto found = m_cgroups.find(path);
    if (found == m_cgroups.end()) {
      return make_error("cgroup {} does not exist", path);
    }
    return found->second;
  }
  Result<pid_t> systemd_main_pid(const std::string& unit) const override {
    if (unit == "web.service") {
      return 100;
    }
    return make_error("no unit {}", unit);
  }
  Result<void> check_owned_by(pid_t pid, uid_t uid) const override {
    if (m_processes.at(pid).uid != uid) {
      return make_error("process {} belongs to uid {}", pid, m_processes.at(pid).uid);
    }
    return {};
  }

  std::map<pid_t, ProcessEntry> m_processes;
  std::map<std::string, std::vector<pid_t>> m_cgroups;
};

class ATargetResolver : public ::testing::Test {
protected:
  void SetUp() override {
    m_table.add(1, 0, "/sbin/init", "/sbin/init");
    m_table.add(2, 0, "", "", 0, true);
    m_table.add(100, 1, "/usr/sbin/nginx", "nginx: master process");
    m_table.add(101, 100, "/usr/sbin/nginx", "nginx: worker process", 33);
    m_table.add(102, 100, "/usr/sbin/nginx", "nginx: worker process", 33);
    m_table.add(103, 101, "/usr/bin/helper", "helper --for nginx");
    m_table.add(200, 1, "/usr/bin/python3", "python3 /srv/app.py --port 8000", 1000);
    m_table.add(300, 1, "/usr/bin/python3", "python3 /srv/app.py --port 8001", 65534);
  }

  std::string error_of(const Target& target) {
    auto pid = resolve_target(target, m_table);
    EXPECT_FALSE(pid) << policy::describe(target) << " resolved to " << (pid ? *pid : 0);
    return pid ? "" : pid.error().message;
  }

  // Writes a pidfile into a directory of the test's own (its uid is the
  // pidfile's writer when the test does not run as root).
  std::string write_pidfile(const std::string& content) {
    if (m_dir.empty()) {
      m_dir = fs::temp_directory_path() / fmt::format("stasis-pidfile-{}", getpid());
      fs::create_directories(m_dir);
      fs::permissions(m_dir, fs::perms::owner_all);
    }
    auto path = m_dir / "x.pid";
    std::ofstream(path) << content;
    return path.string();
  }
  void TearDown() override {
    if (!m_dir.empty()) {
      fs::remove_all(m_dir);
    }
  }

  FakeProcessTable m_table;
  fs::path m_dir;
};

TEST_F(ATargetResolver, ResolvesAnExistingPid) {
  EXPECT_EQ(*resolve_target(PidTarget{200}, m_table), 200);
  EXPECT_EQ(error_of(PidTarget{999}), "pid 999: no process 999");
  EXPECT_EQ(error_of(PidTarget{2}), "pid 2: process 2 is a kernel thread");
  EXPECT_EQ(error_of(PidTarget{0}), "pid 0: 0 is not a process id");
}

TEST_F(ATargetResolver, ReadsAPidfile) {
  m_table.m_processes[200].uid = getuid(); // the pidfile's writer's own process
  auto path = write_pidfile("200\n");
  EXPECT_EQ(*resolve_target(PidfileTarget{path}, m_table), 200);
}

TEST_F(ATargetResolver, ReadsThePidOnTheFirstLineOfAPidfileWithMoreLines) {
  m_table.m_processes[200].uid = getuid();
  // PostgreSQL's postmaster.pid: pid, data directory, start time, port, ...
  auto path = write_pidfile("200\n/var/lib/postgresql/15/main\n1700000000\n5432\n");
  EXPECT_EQ(*resolve_target(PidfileTarget{path}, m_table), 200);
}

TEST_F(ATargetResolver, ExplainsBadPidfiles) {
  auto path = write_pidfile("  \n");
  EXPECT_EQ(error_of(PidfileTarget{path}), fmt::format("pidfile {} is empty", path));
  write_pidfile("12abc");
  EXPECT_EQ(
      error_of(PidfileTarget{path}),
      fmt::format("pidfile {} does not hold a pid on its first line: '12abc'", path));
  write_pidfile("4242");
  EXPECT_EQ(error_of(PidfileTarget{path}),
            fmt::format("pidfile {}: no process 4242 (stale pidfile?)", path));
  EXPECT_NE(error_of(PidfileTarget{"/nonexistent/x.pid"}).find("cannot be read"),
            std::string::npos);
}

TEST_F(ATargetResolver, RefusesAPidfileLargerThanAPidfileIs) {
  auto path = write_pidfile("200\n" + std::string(8192, '#') + "\n");
  EXPECT_NE(error_of(PidfileTarget{path}).find("more than the 4096 allowed"),
            std::string::npos);
}

TEST_F(ATargetResolver, RefusesAPidfileThatIsNotARegularFile) {
  write_pidfile("200\n");
  const auto fifo = m_dir / "fifo.pid";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opening the FIFO for reading would block until a writer comes.
  EXPECT_NE(error_of(PidfileTarget{fifo.string()}).find("is not a regular file"),
            std::string::npos);
}

TEST_F(ATargetResolver, RefusesAPidfileInADirectoryOthersMayWrite) {
  auto path = write_pidfile("200\n");
  fs::permissions(m_dir, fs::perms::all); // 0777, not sticky
  EXPECT_NE(error_of(PidfileTarget{path}).find("can be changed by a group or by others"),
            std::string::npos);
}

TEST_F(ATargetResolver, PicksTheRootOfTheOneMatchingProcessTree) {
  EXPECT_EQ(*resolve_target(ProcessTarget{"nginx$", "", {}}, m_table), 100);
  // The helper matches too, but its ancestor 100 matches as well.
  EXPECT_EQ(*resolve_target(ProcessTarget{"", "nginx", {}}, m_table), 100);
}

TEST_F(ATargetResolver, SearchesAHugeCommandLineWithoutExhaustingTheStack) {
  // A user's process with a 2 MB command line that starts like a match.
  m_table.add(400, 1, "/usr/bin/sh", "sh -c : train" + std::string(2 << 20, 'x'), 65534);
  m_table.add(401, 1, "/usr/bin/python3", "python3 /srv/train-model.py");
  EXPECT_EQ(*resolve_target(ProcessTarget{"", "train.*\\.py", {}}, m_table), 401);
}

TEST_F(ATargetResolver, ListsTheCandidatesWhenSeveralTreesMatch) {
  auto message = error_of(ProcessTarget{"python", "app\\.py", {}});
  EXPECT_NE(message.find("2 separate process trees match"), std::string::npos) << message;
  EXPECT_NE(message.find("pid 200 (python3 /srv/app.py --port 8000)"), std::string::npos);
  EXPECT_NE(message.find("pid 300 (python3 /srv/app.py --port 8001)"), std::string::npos);
}

TEST_F(ATargetResolver, NarrowsMatchesByUser) {
  EXPECT_EQ(*resolve_target(ProcessTarget{"python", "", "nobody"}, m_table), 300);
  // The workers run as uid 33; with the master excluded each is its own root.
  m_table.m_processes[101].uid = 65534;
  EXPECT_EQ(*resolve_target(ProcessTarget{"nginx", "", "nobody"}, m_table), 101);
}

TEST_F(ATargetResolver, ExplainsProcessTargetsThatCannotMatch) {
  EXPECT_EQ(error_of(ProcessTarget{"postgres", "", {}}),
            "process with exe ~ /postgres/: no process matches");
  EXPECT_NE(error_of(ProcessTarget{"(", "", {}}).find("invalid exe regex '('"),
            std::string::npos);
  EXPECT_NE(error_of(ProcessTarget{"x", "", "no-such-user-q"}).find("no user named"),
            std::string::npos);
}

// Debian's python3 is a symlink chain to /usr/bin/python3.11: a target
// written for the link's name matches nothing, and the error shows the
// process it meant, nearest first.
TEST_F(ATargetResolver, ListsTheNearestProcessesWhenNoneMatches) {
  m_table.add(400, 1, "/usr/bin/python3.11", "python3 /srv/worker.py", 1000);
  const auto message = error_of(ProcessTarget{"^/usr/bin/python3$", "worker", {}});
  EXPECT_NE(message.find("no process matches; the nearest: pid 400 (exe "
                         "/usr/bin/python3.11, uid 1000: python3 /srv/worker.py)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("after every symlink"), std::string::npos) << message;
  // The python3 processes match the exe, not the command line: listed after.
  EXPECT_LT(message.find("pid 400"), message.find("pid 200")) << message;
  EXPECT_EQ(message.find("/sbin/init"), std::string::npos) << message;
  // The man page's pattern finds it.
  EXPECT_EQ(*resolve_target(ProcessTarget{"^/usr/bin/python3(\\.[0-9]+)?$", "worker", {}},
                            m_table),
            400);
}

TEST_F(ATargetResolver, ListsAProcessThatMatchesButRunsAsAnotherUserFirst) {
  const auto message = error_of(ProcessTarget{"nginx", "master", "nobody"});
  EXPECT_NE(
      message.find("the nearest: pid 100 (exe /usr/sbin/nginx, uid 0: nginx: master "
                   "process)"),
      std::string::npos)
      << message;
}

TEST_F(ATargetResolver, ListsAtMostFiveNearProcesses) {
  for (pid_t pid = 500; pid < 520; ++pid) {
    m_table.add(pid, 1, "/usr/bin/python3.11", "python3 -m http.server", 1000);
  }
  const auto message = error_of(ProcessTarget{"^/usr/bin/python3$", "", "4242"});
  std::size_t listed = 0;
  for (auto at = message.find("pid "); at != std::string::npos;
       at = message.find("pid ", at + 1)) {
    ++listed;
  }
  EXPECT_EQ(listed, k_max_near_candidates) << message;
}

TEST_F(ATargetResolver, FindsTheOneTreeRootOfACgroup) {
  m_table.m_cgroups["system.slice/nginx.service"] = {101, 100, 102, 103};
  EXPECT_EQ(*resolve_target(CgroupTarget{"system.slice/nginx.service"}, m_table), 100);
}

TEST_F(ATargetResolver, RefusesCgroupsWithSeveralTreesOrNone) {
  m_table.m_cgroups["apps"] = {200, 300};
  EXPECT_NE(error_of(CgroupTarget{"apps"}).find("holds 2 process trees"),
            std::string::npos);
  m_table.m_cgroups["empty"] = {};
  EXPECT_EQ(error_of(CgroupTarget{"empty"}), "cgroup empty has no processes");
  EXPECT_EQ(error_of(CgroupTarget{"missing"}), "cgroup missing does not exist");
}

TEST_F(ATargetResolver, AsksSystemdForAUnitsMainPid) {
  EXPECT_EQ(*resolve_target(SystemdUnitTarget{"web.service"}, m_table), 100);
  EXPECT_EQ(error_of(SystemdUnitTarget{"db.service"}), "no unit db.service");
}

TEST_F(ATargetResolver, AcceptsANumericUser) {
  EXPECT_EQ(*resolve_target(ProcessTarget{"python", "", "65534"}, m_table), 300);
}

TEST_F(ATargetResolver, AsksTheRuntimeForTheInitPidOfAContainer) {
  // (The dbus tier resolves running runc, LXC and podman containers.)
  auto message = error_of(policy::RuncTarget{"stasis-none", "/nonexistent/runc", ""});
  EXPECT_NE(message.find("runc container stasis-none (root /nonexistent/runc)"),
            std::string::npos)
      << message;
}

} // namespace
} // namespace stasis::manager
