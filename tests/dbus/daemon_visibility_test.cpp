// What a local user learns of another user's jobs through stasisd: nothing.
// Two real users and root against the real stasisd: watchers (`stasisctl
// watch`) see the signals of the jobs their user may list and no others, and a
// user probing another user's job names and run ids gets, call for call, the
// answer for names and ids that do not exist.
#include "manager/manager.hpp"
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"

#include <fcntl.h>
#include <fstream>
#include <functional>
#include <grp.h>
#include <signal.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// `stasisctl watch --json` as a user (root when user is empty), its stdout
// and stderr in a file; killed and reaped by pid when it goes out of scope.
class Watcher {
public:
  Watcher(const std::string& bus, const std::string& user, fs::path output)
      : m_output(std::move(output)) {
    std::vector<std::string> args;
    if (!user.empty()) {
      args = {"/usr/bin/setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups",
              "--"};
    }
    args.insert(args.end(), {STASISCTL_PATH, "--bus", bus, "watch", "--json"});
    std::vector<char*> argv;
    for (auto& arg : args) {
      argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    const int fd =
        ::open(m_output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      throw std::runtime_error("cannot create " + m_output.string());
    }
    m_pid = ::fork();
    if (m_pid == 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fd);
    if (m_pid < 0) {
      throw std::runtime_error("fork failed");
    }
  }
  ~Watcher() {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  std::string output() const {
    std::ifstream in(m_output);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // True when a line of the output holds every one of the parts.
  bool has_line(const std::vector<std::string>& parts) const {
    std::istringstream lines(output());
    for (std::string line; std::getline(lines, line);) {
      bool all = true;
      for (const auto& part : parts) {
        all = all && line.find(part) != std::string::npos;
      }
      if (all) {
        return true;
      }
    }
    return false;
  }

  // Waits (bounded) until a line holds every one of the parts.
  bool wait_line(const std::vector<std::string>& parts) const {
    const auto deadline = Clock::now() + 30s;
    while (!has_line(parts)) {
      if (Clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

private:
  fs::path m_output;
  pid_t m_pid = -1;
};

// Runs `calls` as the user, on a bus connection of its own (a forked child
// switches to the user's uid and gid first), and returns what it returned.
std::string as_user(const TestUser& user, const std::string& bus,
                    const std::function<std::string(dbus::Client&)>& calls) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const gid_t gid = user.gid();
    std::string text;
    if (::setgroups(1, &gid) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(user.uid(), user.uid(), user.uid()) != 0) {
      text = "cannot switch to the user";
    } else if (auto client = dbus::Client::connect(bus)) {
      text = calls(**client);
    } else {
      text = "cannot connect: " + client.error().message;
    }
    for (std::size_t done = 0; done < text.size();) {
      const auto wrote = ::write(fds[1], text.data() + done, text.size() - done);
      if (wrote <= 0) {
        break;
      }
      done += static_cast<std::size_t>(wrote);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t got; (got = ::read(fds[0], buffer, sizeof buffer)) > 0;) {
    text.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  return text;
}

// "Method: ok" or "Method: error-name: message", with `name` in the message
// written as <NAME>, so that answers about different names compare equal.
template <typename T>
std::string answer(const std::string& method, const dbus::CResult<T>& result,
                   const std::string& name) {
  if (result) {
    return method + ": ok\n";
  }
  std::string message = result.error().message;
  for (auto at = message.find(name); at != std::string::npos;
       at = message.find(name, at)) {
    message.replace(at, name.size(), "<NAME>");
  }
  return method + ": " + result.error().name + ": " + message + "\n";
}

// Every call that takes a job name, asked about `job` (and its checkpoint).
std::string probe_job(dbus::Client& client, const std::string& job,
                      const std::string& checkpoint) {
  std::string text;
  text += answer("GetJob", client.get_job(job), job);
  text += answer("Checkpoint", client.checkpoint(job, {}), job);
  text += answer("Restore newest", client.restore(job, "", {}), job);
  text += answer("Restore", client.restore(job, checkpoint, {}), job);
  text += answer("ListCheckpoints", client.list_checkpoints(job), job);
  text += answer("DeleteCheckpoint", client.delete_checkpoint(job, checkpoint), job);
  text += answer("PinCheckpoint", client.pin_checkpoint(job, checkpoint, true), job);
  text += answer("Prune dry", client.prune(job, true), job);
  text += answer("Prune", client.prune(job, false), job);
  text += answer("Verify all", client.verify(job, ""), job);
  text += answer("Verify", client.verify(job, checkpoint), job);
  text += answer("ListRuns", client.list_runs(job, 0), job);
  return text;
}

// Every call that takes a run id, asked about `run`.
std::string probe_run(dbus::Client& client, const std::string& run) {
  return answer("GetRun", client.get_run(run), run) +
         answer("CancelRun", client.cancel_run(run), run);
}

class AJobOfAnotherUser : public DaemonTest {
protected:
  // A policy job of `user` (who may checkpoint it, and so list it).
  std::string job_of(const std::string& name, const fs::path& pidfile,
                     const TestUser& user) {
    return pidfile_job(name, pidfile,
                       "access:\n  checkpoint: {users: [" + user.name() + "]}");
  }

  std::string checkpoint_now(dbus::Client& client, const std::string& job) {
    manager::CheckpointOptions options;
    options.leave_running = true;
    auto run = client.checkpoint(job, options);
    EXPECT_TRUE(run) << run.error().message;
    if (!run) {
      return "";
    }
    wait_run(client, *run);
    return *run;
  }
};

TEST_F(AJobOfAnotherUser, IsInvisibleToTheWatchersOfOtherUsers) {
  TestUser alice("stasis-t-vis-alice");
  TestUser bob("stasis-t-vis-bob");
  const pid_t pid = start_workload_as(alice, "stasis-wl-counter", dir() / "alice");
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  write_policy(
      "jobs.yaml",
      job_of("vis-alice-secret-ok", write_pidfile("alice", pid), alice) +
          job_of("vis-alice-secret-broken", dir() / "vis-alice-secret-path.pid", alice) +
          job_of("vis-bob-job", dir() / "vis-bob-path.pid", bob));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);

  Watcher root_watch(bus_address(), "", dir() / "root.watch");
  Watcher alice_watch(bus_address(), alice.name(), dir() / "alice.watch");
  Watcher bob_watch(bus_address(), bob.name(), dir() / "bob.watch");
  // JobsChanged is for everyone: once each watcher printed one, it listens.
  const auto deadline = Clock::now() + 30s;
  auto listening = [&] {
    for (const auto* watcher : {&root_watch, &alice_watch, &bob_watch}) {
      if (!watcher->has_line({"JobsChanged"})) {
        return false;
      }
    }
    return true;
  };
  while (!listening() && Clock::now() < deadline) {
    ASSERT_TRUE(client->reload());
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(listening()) << "root:\n"
                           << root_watch.output() << "alice:\n"
                           << alice_watch.output() << "bob:\n"
                           << bob_watch.output();

  const auto alice_ok = checkpoint_now(*client, "vis-alice-secret-ok");
  const auto alice_broken = checkpoint_now(*client, "vis-alice-secret-broken");
  const auto bob_run = checkpoint_now(*client, "vis-bob-job");
  ASSERT_EQ(client->get_run(alice_ok)->state, manager::RunState::Succeeded) << log();

  // Signals from stasisd reach each watcher in order: once a watcher has the
  // last run it may see, it has every signal it was sent before.
  const std::string finished = "\"signal\":\"RunFinished\"";
  ASSERT_TRUE(root_watch.wait_line({finished, bob_run})) << root_watch.output();
  ASSERT_TRUE(alice_watch.wait_line({finished, alice_broken})) << alice_watch.output();
  ASSERT_TRUE(bob_watch.wait_line({finished, bob_run})) << bob_watch.output();

  // Bob learns nothing of Alice's runs: not their jobs, ids, errors or paths.
  const auto bob_saw = bob_watch.output();
  EXPECT_EQ(bob_saw.find("alice"), std::string::npos) << bob_saw;
  EXPECT_EQ(bob_saw.find(alice_ok), std::string::npos) << bob_saw;
  EXPECT_EQ(bob_saw.find(alice_broken), std::string::npos) << bob_saw;
  EXPECT_TRUE(bob_watch.has_line({"RunStarted", bob_run, "vis-bob-job"})) << bob_saw;

  // Alice sees all of hers (progress, the checkpoint, the error and its path)
  // and nothing of Bob's.
  const auto alice_saw = alice_watch.output();
  EXPECT_TRUE(alice_watch.has_line({"RunStarted", alice_ok, "vis-alice-secret-ok"}));
  EXPECT_TRUE(alice_watch.has_line({"RunProgress", alice_ok}));
  EXPECT_TRUE(alice_watch.has_line({"CheckpointsChanged", "vis-alice-secret-ok"}));
  EXPECT_TRUE(alice_watch.has_line({finished, alice_ok, "succeeded"})) << alice_saw;
  EXPECT_TRUE(alice_watch.has_line({finished, alice_broken, "vis-alice-secret-path"}))
      << alice_saw;
  EXPECT_EQ(alice_saw.find("vis-bob"), std::string::npos) << alice_saw;
  EXPECT_EQ(alice_saw.find(bob_run), std::string::npos) << alice_saw;

  // Root sees everything.
  EXPECT_TRUE(root_watch.has_line({"CheckpointsChanged", "vis-alice-secret-ok"}));
  EXPECT_TRUE(root_watch.has_line({finished, alice_ok, "succeeded"}));
  EXPECT_TRUE(root_watch.has_line({finished, alice_broken, "vis-alice-secret-path"}));
  EXPECT_TRUE(root_watch.has_line({"RunProgress", bob_run}));
  EXPECT_TRUE(root_watch.has_line({finished, bob_run, "vis-bob-path"}))
      << root_watch.output();
}

TEST_F(AJobOfAnotherUser, AnswersProbesExactlyAsANameThatDoesNotExist) {
  TestUser alice("stasis-t-vis-alice2");
  TestUser bob("stasis-t-vis-bob2");
  const pid_t pid = start_workload_as(alice, "stasis-wl-counter", dir() / "alice");
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  write_policy("jobs.yaml",
               job_of("vis-alice-secret", write_pidfile("alice", pid), alice));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  const auto run = checkpoint_now(*client, "vis-alice-secret");
  auto made = client->get_run(run);
  ASSERT_TRUE(made && made->state == manager::RunState::Succeeded) << log();
  const std::string checkpoint = made->checkpoint;
  // An id of the same shape that no run has.
  const std::string no_run = run.substr(0, run.rfind('-') + 1) + "999999";

  const auto hidden = as_user(bob, bus_address(), [&](dbus::Client& c) {
    return probe_job(c, "vis-alice-secret", checkpoint) + probe_run(c, run);
  });
  const auto missing = as_user(bob, bus_address(), [&](dbus::Client& c) {
    return probe_job(c, "vis-nobody-has", checkpoint) + probe_run(c, no_run);
  });
  EXPECT_EQ(hidden, missing);
  EXPECT_EQ(hidden.find(": ok"), std::string::npos) << hidden;
  EXPECT_EQ(hidden.find("AccessDenied"), std::string::npos) << hidden;
  EXPECT_NE(hidden.find("GetJob: io.stasis.Stasis1.Error.NoSuchJob: "), std::string::npos)
      << hidden;
  EXPECT_NE(hidden.find("GetRun: io.stasis.Stasis1.Error.NoSuchRun: "), std::string::npos)
      << hidden;

  // Alice, who may list her job, is told the truth.
  const auto owner = as_user(alice, bus_address(), [&](dbus::Client& c) {
    return answer("GetJob", c.get_job("vis-alice-secret"), "") +
           answer("GetRun", c.get_run(run), "");
  });
  EXPECT_EQ(owner, "GetJob: ok\nGetRun: ok\n");
}

TEST_F(AJobOfAnotherUser, NamedAbsurdlyLongIsQuotedOnlyUpToTheLimit) {
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  const std::string name(100000, 'x');
  auto job = client->get_job(name);
  ASSERT_FALSE(job);
  EXPECT_EQ(job.error().name, "io.stasis.Stasis1.Error.NoSuchJob");
  EXPECT_EQ(job.error().message,
            "no job named '" + name.substr(0, manager::k_max_quoted_name) + "...'");
  auto run = client->get_run(name);
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().message,
            "no run with id '" + name.substr(0, manager::k_max_quoted_name) + "...'");
}

} // namespace
} // namespace stasis::test
