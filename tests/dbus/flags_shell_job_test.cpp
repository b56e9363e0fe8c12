// CRIU --shell-job through stasisd: policy examples/flags/shell-job.yaml,
// workload stasis-wl-shell-job-loop (a bash loop started as a background job
// of an interactive bash in a tmux pane). tmux provides the terminals: one
// pane for the job's shell, one pane that stasisd runs in, whose terminal the
// restored job is attached to.
#include "tests/dbus/flags_support.hpp"
#include "tests/dbus/test_user.hpp"

#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// tmux runs a pane's command with $SHELL -c, or with the user's login shell
// when SHELL is unset (as under CI); a test user's is nologin. Both servers
// here get a shell that exists.
constexpr const char* k_tmux_shell = "SHELL=/bin/sh";

// A private tmux server (its own socket name), killed at the end.
class Tmux {
public:
  Tmux() : m_socket("stasis-flags-" + std::to_string(::getpid())) {}
  ~Tmux() { run({"kill-server"}); }
  Tmux(const Tmux&) = delete;
  Tmux& operator=(const Tmux&) = delete;

  // Runs tmux with args; returns its output (fails the test on an error).
  std::string run(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"/usr/bin/env", k_tmux_shell, "/usr/bin/tmux", "-L",
                                  m_socket,       "-f",         "/dev/null"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = run_captured(argv, 10s);
    if (result.exit_code != 0 && args.front() != "kill-server") {
      ADD_FAILURE() << "tmux " << args.front() << " failed (" << result.exit_code
                    << "): " << result.err;
    }
    return result.out;
  }
  // Starts a detached session running command; returns the pane's pid.
  pid_t start(const std::string& session, const std::string& command) const {
    run({"new-session", "-d", "-s", session, "-x", "80", "-y", "24", command});
    const auto pid = run({"display-message", "-p", "-t", session, "#{pane_pid}"});
    return pid.empty() ? -1 : std::stoi(pid);
  }

private:
  std::string m_socket;
};

std::uint64_t ticks_of(const fs::path& file) {
  const auto status = read_key_values(file);
  const auto ticks = status.find("ticks");
  return ticks == status.end() || ticks->second.empty() ? 0 : std::stoull(ticks->second);
}

// Waits until the loop's counter passes at_least; false after 5 s.
bool wait_ticks(const fs::path& file, std::uint64_t at_least) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ticks_of(file) > at_least) {
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

// /proc/<pid>/stat, for failure messages.
std::string proc_line(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  return line.empty() ? "(gone)" : line;
}

// Waits (5 s) until pid no longer runs: gone, or a zombie. CRIU kills what
// it half-restored; a zombie that became our child (we are a subreaper) is
// reaped here.
bool stops_running(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto stat = read_proc_stat(pid);
    if (!stat) {
      return true;
    }
    if (stat->state == 'Z') {
      if (stat->ppid == ::getpid()) {
        ::waitpid(pid, nullptr, WNOHANG);
      }
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

pid_t read_pid(const fs::path& file) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(file);
    pid_t pid = 0;
    if (in >> pid && pid > 0) {
      return pid;
    }
    std::this_thread::sleep_for(20ms);
  }
  return 0;
}

// Waits (10 s) until the interactive bash in a tmux pane shows its prompt
// ("bash-5.2$" or "#"), so that keys sent next reach a shell that reads
// them; tmux_run runs tmux with the arguments given. Returns the pane's
// text, for failure messages.
std::string
wait_for_prompt(const std::function<std::string(std::vector<std::string>)>& tmux_run,
                const std::string& target) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string pane;
  while (std::chrono::steady_clock::now() < deadline) {
    pane = tmux_run({"capture-pane", "-p", "-t", target});
    if (pane.find("bash-") != std::string::npos &&
        (pane.find("$") != std::string::npos || pane.find("#") != std::string::npos)) {
      return pane;
    }
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "no shell prompt in tmux pane " << target << ":\n" << pane;
  return pane;
}

// The tree of pid (pid and its descendants), killed by pid at the end.
struct KillTree {
  pid_t pid = 0;
  ~KillTree() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      wait_pid_gone(pid, 2s);
    }
  }
};

class AShellJob : public FlagsTest {
protected:
  // Starts an interactive bash in a pane of tmux and, from it, the loop as a
  // background job; returns the shell's pid and fills job.pid.
  pid_t start_job(const Tmux& tmux, KillTree& job, bool print = false) {
    const auto loop = workload_binary("stasis-wl-shell-job-loop");
    EXPECT_TRUE(fs::exists(loop)) << loop;
    const pid_t shell = tmux.start("job", "exec /bin/bash --norc --noprofile -i");
    EXPECT_GT(shell, 0);
    wait_for_prompt([&](std::vector<std::string> args) { return tmux.run(args); }, "job");
    tmux.run({"send-keys", "-t", "job",
              loop.string() + " " + status().string() + (print ? " print" : "") +
                  " & echo $! > " + pidfile().string(),
              "Enter"});
    job.pid = read_pid(pidfile());
    EXPECT_GT(job.pid, 0) << "the shell did not start the loop; its pane:\n"
                          << tmux.run({"capture-pane", "-p", "-t", "job"});
    EXPECT_TRUE(wait_ticks(status(), 2));
    return shell;
  }
  // Starts stasisd without a terminal (its standard input is /dev/null), as
  // under systemd.
  void start_daemon_without_terminal() {
    const int saved = ::dup(STDIN_FILENO);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::dup2(null_fd, STDIN_FILENO);
    start_daemon();
    ::dup2(saved, STDIN_FILENO);
    ::close(saved);
    ::close(null_fd);
  }
  fs::path pidfile() const { return dir() / "loop.pid"; }
  fs::path status() const { return dir() / "loop.status"; }
};

TEST_F(AShellJob, IsRestoredOntoTheDaemonsTerminalAndNamesTheKeyWhenItIsMissing) {
  Tmux tmux;
  KillTree job;
  const pid_t shell = start_job(tmux, job);
  ASSERT_GT(job.pid, 0);
  const auto pidfile = this->pidfile();
  const auto status = this->status();
  const auto before = read_proc_stat(job.pid);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->session, shell); // the shell leads the job's session

  install_example("shell-job", {{"/run/stasis-examples/shell-job.pid", pidfile}});
  install_job("unset.yaml", pidfile_job("shell-job-unset", pidfile));
  // stasisd runs in a terminal of its own: the restored job is attached to it.
  const pid_t daemon = tmux.start(
      "daemon",
      fmt::format("exec {} --bus '{}' --policy-dir {} --state-dir {} -v >>{} 2>&1",
                  STASISD_PATH, bus_address(), policy_dir().string(),
                  state_dir().string(), (dir() / "stasisd.log").string()));
  ASSERT_GT(daemon, 0);
  KillTree daemon_tree{daemon};
  bool answers = false;
  for (int i = 0; i < 300 && !answers; ++i) {
    auto connected = dbus::Client::connect(bus_address());
    answers = connected && (*connected)->list_jobs();
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(answers) << log();

  auto refused = checkpoint("shell-job-unset");
  EXPECT_EQ(refused.state, manager::RunState::Failed);
  EXPECT_NE(refused.error.find("set `criu.shell-job: true` in the policy of job "
                               "'shell-job-unset'"),
            std::string::npos)
      << refused.error;
  const auto ticks = ticks_of(status);
  EXPECT_TRUE(wait_ticks(status, ticks)) << "the loop stopped after the refused dump";

  auto dumped = checkpoint("shell-job");
  ASSERT_EQ(dumped.state, manager::RunState::Succeeded) << dumped.error << "\n" << log();
  ASSERT_TRUE(wait_pid_free(job.pid, 10s));
  const auto dumped_ticks = ticks_of(status);

  auto restored = restore("shell-job");
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  job.pid = restored.pid;
  ASSERT_TRUE(wait_ticks(status, dumped_ticks));
  const auto loop_status = read_key_values(status);
  EXPECT_EQ(loop_status.at("check"), "pass") << loop_status.at("detail");
  EXPECT_EQ(loop_status.at("tty"), "yes");
  // The job lives on in the daemon's terminal session.
  const auto after = read_proc_stat(restored.pid);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->session, daemon);
}

TEST_F(AShellJob, FailsToRestoreWithoutATerminalAndLeavesNothingRunning) {
  Tmux tmux;
  KillTree job;
  start_job(tmux, job);
  ASSERT_GT(job.pid, 0);
  install_example("shell-job", {{"/run/stasis-examples/shell-job.pid", pidfile()}});
  start_daemon_without_terminal();

  auto dumped = checkpoint("shell-job");
  ASSERT_EQ(dumped.state, manager::RunState::Succeeded) << dumped.error << "\n" << log();
  ASSERT_TRUE(wait_pid_free(job.pid, 10s));
  const auto dumped_ticks = ticks_of(status());
  auto restored = restore("shell-job");
  EXPECT_EQ(restored.state, manager::RunState::Failed);
  EXPECT_NE(restored.error.find("run `stasisctl restore` in a terminal"),
            std::string::npos)
      << restored.error;
  // Nothing half-restored runs on: the pid stays free, the loop stays still.
  EXPECT_TRUE(stops_running(job.pid)) << proc_line(job.pid);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(ticks_of(status()), dumped_ticks);
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The highest "stasis-loop tick N" a tmux pane shows, 0 if none.
std::uint64_t pane_tick(const Tmux& tmux, const std::string& pane) {
  const auto screen = tmux.run({"capture-pane", "-p", "-t", pane});
  constexpr std::string_view k_tick = "stasis-loop tick ";
  std::uint64_t highest = 0;
  for (std::size_t at = screen.find(k_tick); at != std::string::npos;
       at = screen.find(k_tick, at + 1)) {
    std::size_t end = at + k_tick.size();
    std::uint64_t value = 0;
    while (end < screen.size() && screen[end] >= '0' && screen[end] <= '9') {
      value = value * 10 + static_cast<std::uint64_t>(screen[end] - '0');
      ++end;
    }
    highest = std::max(highest, value);
  }
  return highest;
}

TEST_F(AShellJob, ResumesInThePaneThatRanStasisctlRestoreWhileStasisdHasNoTerminal) {
  Tmux tmux;
  KillTree job;
  const pid_t shell = start_job(tmux, job, /*print=*/true);
  ASSERT_GT(job.pid, 0);
  install_example("shell-job", {{"/run/stasis-examples/shell-job.pid", pidfile()}});
  start_daemon_without_terminal();

  auto dumped = checkpoint("shell-job");
  ASSERT_EQ(dumped.state, manager::RunState::Succeeded) << dumped.error << "\n" << log();
  ASSERT_TRUE(wait_pid_free(job.pid, 10s));
  const auto dumped_ticks = ticks_of(status());
  ASSERT_GT(dumped_ticks, 0u);

  // A second pane, whose shell runs `stasisctl restore` (it hands its terminal).
  const pid_t restorer = tmux.start("restorer", "exec /bin/bash --norc --noprofile -i");
  wait_for_prompt([&](std::vector<std::string> args) { return tmux.run(args); },
                  "restorer");
  ASSERT_GT(restorer, 0);
  KillTree restorer_tree{restorer};
  const auto done = dir() / "restore.rc";
  tmux.run({"send-keys", "-t", "restorer",
            fmt::format("{} --bus '{}' restore shell-job >{} 2>{}; echo $? >>{}",
                        STASISCTL_PATH, bus_address(), (dir() / "restore.out").string(),
                        (dir() / "restore.err").string(), done.string()),
            "Enter"});
  const auto restored_pid = read_pid(dir() / "restore.out");
  ASSERT_GT(restored_pid, 0) << file_text(dir() / "restore.out")
                             << file_text(dir() / "restore.err") << "\n"
                             << log();
  job.pid = restored_pid;
  ASSERT_TRUE(wait_ticks(status(), dumped_ticks + 3)) << log();
  const auto loop_status = read_key_values(status());
  EXPECT_EQ(loop_status.at("check"), "pass") << loop_status.at("detail");
  EXPECT_EQ(loop_status.at("tty"), "yes");
  // The counter goes on in the pane that ran stasisctl, past where it was.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (pane_tick(tmux, "restorer") <= dumped_ticks &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GT(pane_tick(tmux, "restorer"), dumped_ticks)
      << tmux.run({"capture-pane", "-p", "-t", "restorer"});
  // Its terminal is that pane's; it leads a session of its own, not the daemon's.
  const auto pane_tty =
      tmux.run({"display-message", "-p", "-t", "restorer", "#{pane_tty}"});
  EXPECT_EQ(fs::read_symlink(fmt::format("/proc/{}/fd/1", restored_pid)).string(),
            pane_tty.substr(0, pane_tty.find('\n')));
  const auto after = read_proc_stat(restored_pid);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->session, restored_pid);
  EXPECT_NE(after->session, shell);
}

// Runs `stasisctl restore --terminal JOB` in a new pane of tmux, as `user`
// through setpriv, with the pane's terminal as its standard input; returns
// its exit status and output.
std::pair<int, std::string> restore_in_pane_as(const Tmux& tmux, const TestUser& user,
                                               const std::string& bus,
                                               const std::string& job,
                                               const fs::path& dir) {
  const auto out = dir / "user-restore.out";
  const auto rc = dir / "user-restore.rc";
  const pid_t pane = tmux.start("user", "exec /bin/bash --norc --noprofile -i");
  EXPECT_GT(pane, 0);
  wait_for_prompt([&](std::vector<std::string> args) { return tmux.run(args); }, "user");
  KillTree pane_tree{pane};
  tmux.run({"send-keys", "-t", "user",
            fmt::format("/usr/bin/setpriv --reuid={} --regid={} --init-groups {} --bus "
                        "'{}' restore --terminal {} >{} 2>&1; echo $? >{}",
                        user.uid(), user.gid(), STASISCTL_PATH, bus, job, out.string(),
                        rc.string()),
            "Enter"});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (file_text(rc).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  const auto status = file_text(rc);
  return {status.empty() ? -1 : std::stoi(status), file_text(out)};
}

TEST_F(AShellJob, RefusesATerminalThatIsNotTheCallers) {
  TestUser mallory("stasis-t-shelljob-mallory");
  install_job("mallory.yaml",
              pidfile_job("mallory-shell", dir() / "none.pid",
                          fmt::format("criu:\n  shell-job: true\naccess:\n  list: "
                                      "{{users: [{0}]}}\n  restore: {{users: [{0}]}}",
                                      mallory.name())));
  start_daemon_without_terminal();
  Tmux tmux; // root's tmux: its panes' terminals belong to root
  const auto [status, output] =
      restore_in_pane_as(tmux, mallory, bus_address(), "mallory-shell", dir());
  EXPECT_EQ(status, 2) << output; // stasisctl's exit code for InvalidArgument
  EXPECT_NE(output.find("the terminal belongs to uid 0, not to the caller"),
            std::string::npos)
      << output;
}

TEST_F(AShellJob, OfAUserResumesInHerOwnPaneAsHer) {
  TestUser alice("stasis-t-shelljob-alice");
  // Her own tmux server: its panes' terminals are hers.
  const auto home = dir() / "alice";
  fs::create_directories(home);
  ASSERT_EQ(::chown(home.c_str(), alice.uid(), alice.gid()), 0);
  const auto loop = copy_workload_for(alice, "stasis-wl-shell-job-loop", home);
  const auto socket = home / "tmux.sock";
  auto as_alice = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/setpriv",
                                  fmt::format("--reuid={}", alice.uid()),
                                  fmt::format("--regid={}", alice.gid()),
                                  "--init-groups",
                                  "/usr/bin/env",
                                  "HOME=" + home.string(),
                                  k_tmux_shell,
                                  "/usr/bin/tmux",
                                  "-S",
                                  socket.string(),
                                  "-f",
                                  "/dev/null"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = run_captured(argv, 10s);
    if (result.exit_code != 0 && args.front() != "kill-server" &&
        args.front() != "display-message") {
      ADD_FAILURE() << "her tmux " << args.front() << " failed (" << result.exit_code
                    << "): " << result.err;
    }
    return result.out;
  };
  // Her server is gone before her user is removed (a user with processes is not).
  struct KillServer {
    std::function<void()> kill;
    ~KillServer() { kill(); }
  } server{[&] {
    const auto pid = as_alice({"display-message", "-p", "#{pid}"});
    as_alice({"kill-server"});
    if (const pid_t server_pid = std::atoi(pid.c_str()); server_pid > 0) {
      ::kill(server_pid, SIGKILL);
      wait_pid_gone(server_pid, 2s);
    }
  }};
  as_alice({"new-session", "-d", "-s", "job", "-x", "80", "-y", "24",
            "exec /bin/bash --norc --noprofile -i"});
  wait_for_prompt(as_alice, "job");
  const auto status = home / "loop.status";
  const auto pidfile = home / "loop.pid";
  as_alice({"send-keys", "-t", "job",
            fmt::format("{} {} print & echo $! > {}", loop.string(), status.string(),
                        pidfile.string()),
            "Enter"});
  KillTree job{read_pid(pidfile)};
  ASSERT_GT(job.pid, 0) << "her shell did not start the loop; its pane:\n"
                        << as_alice({"capture-pane", "-p", "-t", "job"});
  ASSERT_TRUE(wait_ticks(status, 2));
  install_job("alice.yaml",
              pidfile_job("alice-shell", pidfile,
                          fmt::format("criu:\n  shell-job: true\naccess:\n  list: "
                                      "{{users: [{0}]}}\n  checkpoint: {{users: "
                                      "[{0}]}}\n  restore: {{users: [{0}]}}",
                                      alice.name())));
  start_daemon_without_terminal();
  auto dumped = checkpoint("alice-shell");
  ASSERT_EQ(dumped.state, manager::RunState::Succeeded) << dumped.error << "\n" << log();
  ASSERT_TRUE(wait_pid_free(job.pid, 10s));
  const auto dumped_ticks = ticks_of(status);

  as_alice({"new-window", "-d", "-t", "job", "-n", "restorer",
            "exec /bin/bash --norc --noprofile -i"});
  wait_for_prompt(as_alice, "job:restorer");
  const auto out = home / "restore.out";
  as_alice({"send-keys", "-t", "job:restorer",
            fmt::format("{} --bus '{}' restore alice-shell >{} 2>{}.err", STASISCTL_PATH,
                        bus_address(), out.string(), out.string()),
            "Enter"});
  job.pid = read_pid(out);
  ASSERT_GT(job.pid, 0) << file_text(out) << file_text(out.string() + ".err") << "\n"
                        << log();
  ASSERT_TRUE(wait_ticks(status, dumped_ticks + 3)) << log();
  EXPECT_EQ(read_key_values(status).at("check"), "pass");
  EXPECT_EQ(uid_line(job.pid), fmt::format("Uid:\t{0}\t{0}\t{0}\t{0}", alice.uid()));
  const auto pane_tty =
      as_alice({"display-message", "-p", "-t", "job:restorer", "#{pane_tty}"});
  EXPECT_EQ(fs::read_symlink(fmt::format("/proc/{}/fd/1", job.pid)).string(),
            pane_tty.substr(0, pane_tty.find('\n')));
}

} // namespace
} // namespace stasis::test
