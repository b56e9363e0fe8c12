// stasisd against users who flood it: real non-root users call
// CheckpointProcess over the private bus (as themselves, through dbus::Client)
// against the real daemon with real CRIU. Beyond their queued-run limit they
// get Busy and nothing is recorded; root's policy job starts while their runs
// still wait; a quota refuses a checkpoint before it is stored.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"

#include <algorithm>
#include <fcntl.h>
#include <fstream>
#include <grp.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// One CheckpointProcess call's answer.
struct CallResult {
  std::string run;        // the run id, if the call was accepted
  std::string error_name; // else the D-Bus error
  std::string message;
};

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

// A child process running as the user that makes `calls` CheckpointProcess
// calls of pid, one after another as fast as stasisd answers, and reports
// each answer as a line "run\terror name\tmessage" on a pipe.
class Flood {
public:
  Flood(const TestUser& user, const std::string& bus, pid_t pid, int calls) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
    m_child = ::fork();
    if (m_child == 0) {
      ::close(fds[0]);
      const gid_t gid = user.gid();
      if (::setgroups(1, &gid) != 0 || ::setresgid(gid, gid, gid) != 0 ||
          ::setresuid(user.uid(), user.uid(), user.uid()) != 0) {
        ::_exit(126);
      }
      auto client = dbus::Client::connect(bus);
      for (int i = 0; client && i < calls; ++i) {
        auto run = (*client)->checkpoint_process(pid, {});
        std::string line =
            run ? *run + "\t\t" : "\t" + run.error().name + "\t" + run.error().message;
        std::replace(line.begin(), line.end(), '\n', ' ');
        write_all(fds[1], line + "\n");
      }
      ::_exit(client ? 0 : 1);
    }
    ::close(fds[1]);
    m_fd = fds[0];
  }
  ~Flood() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    if (m_child > 0) {
      ::waitpid(m_child, nullptr, 0);
    }
  }

  // Waits for the child; its answers in order.
  std::vector<CallResult> results() {
    std::string text;
    char buffer[4096];
    for (ssize_t n; (n = ::read(m_fd, buffer, sizeof buffer)) > 0;) {
      text.append(buffer, static_cast<std::size_t>(n));
    }
    int status = 0;
    ::waitpid(m_child, &status, 0);
    m_child = -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the flood's child failed";
    std::vector<CallResult> results;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      CallResult result;
      std::istringstream fields(line);
      std::getline(fields, result.run, '\t');
      std::getline(fields, result.error_name, '\t');
      std::getline(fields, result.message);
      results.push_back(result);
    }
    return results;
  }

private:
  pid_t m_child = -1;
  int m_fd = -1;
};

std::vector<std::string> accepted(const std::vector<CallResult>& results) {
  std::vector<std::string> runs;
  for (const auto& result : results) {
    if (!result.run.empty()) {
      runs.push_back(result.run);
    }
  }
  return runs;
}

class ADaemonWithUserLimits : public DaemonTest {
protected:
  std::string job_of(const TestUser& user) const {
    return "user-" + std::to_string(user.uid());
  }
};

TEST_F(ADaemonWithUserLimits,
       RefusesFloodsBeyondTheQueuedLimitAndStartsRootsJobBeforeThem) {
  constexpr int k_limit = 3;
  constexpr int k_calls = 12;
  TestUser alice("stasis-t-queue-alice");
  TestUser bob("stasis-t-queue-bob");
  auto root_workload = Workload::start("stasis-wl-counter", {}, dir() / "root");
  write_policy("root.yaml",
               pidfile_job("root-job", write_pidfile("root", root_workload.pid()),
                           "criu:\n  leave-running: true\n"));
  start_daemon({"--max-runs", "2", "--max-queued-per-user", std::to_string(k_limit)});
  const pid_t alice_pid = start_workload_as(alice, "stasis-wl-counter", dir() / "alice");
  ASSERT_GT(alice_pid, 0);
  KillOnExit alice_guard{alice_pid};
  const pid_t bob_pid = start_workload_as(bob, "stasis-wl-counter", dir() / "bob");
  ASSERT_GT(bob_pid, 0);
  KillOnExit bob_guard{bob_pid};

  // Both users flood at once; their calls return at once with a run id or Busy.
  std::vector<CallResult> alice_results, bob_results;
  {
    Flood alice_flood(alice, bus_address(), alice_pid, k_calls);
    Flood bob_flood(bob, bus_address(), bob_pid, k_calls);
    alice_results = alice_flood.results();
    bob_results = bob_flood.results();
  }
  // Root's policy job, asked for while their runs wait.
  auto client = this->client();
  ASSERT_TRUE(client);
  auto root_run = client->checkpoint("root-job", {});
  ASSERT_TRUE(root_run) << root_run.error().message;

  for (const auto* results : {&alice_results, &bob_results}) {
    ASSERT_EQ(results->size(), static_cast<std::size_t>(k_calls));
    const auto runs = accepted(*results);
    EXPECT_GE(runs.size(), static_cast<std::size_t>(k_limit));
    EXPECT_LT(runs.size(), static_cast<std::size_t>(k_calls)) << "no call was refused";
    for (const auto& result : *results) {
      if (result.run.empty()) {
        EXPECT_EQ(result.error_name, "io.stasis.Stasis1.Error.Busy") << result.message;
        EXPECT_NE(result.message.find(fmt::format("{} runs queued", k_limit)),
                  std::string::npos)
            << result.message;
        EXPECT_NE(result.message.find("max-queued-per-user"), std::string::npos)
            << result.message;
      }
    }
  }

  const auto root_info = wait_run(*client, *root_run, 60s);
  EXPECT_EQ(root_info.state, manager::RunState::Succeeded) << root_info.error << log();
  ASSERT_TRUE(root_info.started);
  std::size_t started_after_root = 0;
  for (const auto& [user, results] :
       {std::pair{&alice, &alice_results}, std::pair{&bob, &bob_results}}) {
    const auto runs = accepted(*results);
    for (const auto& run : runs) {
      const auto info = wait_run(*client, run, 60s);
      EXPECT_EQ(info.state, manager::RunState::Succeeded) << info.error << log();
      ASSERT_TRUE(info.started);
      started_after_root += *info.started > *root_info.started ? 1 : 0;
    }
    // Refused calls recorded nothing: the job's runs are the accepted ones.
    auto recorded = client->list_runs(job_of(*user), 0);
    ASSERT_TRUE(recorded) << recorded.error().message;
    EXPECT_EQ(recorded->size(), runs.size());
  }
  // Root's run did not wait for the flood to drain.
  EXPECT_GE(started_after_root, 1u) << log();
}

TEST_F(ADaemonWithUserLimits,
       RefusesACheckpointOverTheQuotaBeforeStoringItAndTheProcessRunsOn) {
  TestUser alice("stasis-t-queue-quota");
  start_daemon({"--max-stored-bytes-per-user", "16K"});
  const fs::path alice_dir = dir() / "alice";
  const pid_t pid = start_workload_as(alice, "stasis-wl-counter", alice_dir);
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};

  // --stop: without the quota, CRIU would kill the process after the dump.
  auto made =
      stasisctl({"checkpoint", "--pid", std::to_string(pid), "--stop"}, alice.name());
  EXPECT_EQ(made.exit_code, 1) << made.out << made.err << log();
  EXPECT_NE(made.err.find("refused before storing it"), std::string::npos) << made.err;
  EXPECT_NE(made.err.find("max-stored-bytes-per-user"), std::string::npos) << made.err;
  EXPECT_NE(made.err.find("may keep 16384 bytes"), std::string::npos) << made.err;

  // The process was resumed and checks out.
  EXPECT_EQ(verify_workload(pid, alice_dir / "status"), "");
  EXPECT_EQ(uid_line(pid), fmt::format("Uid:\t{0}\t{0}\t{0}\t{0}", alice.uid()));

  // Nothing was stored, and the dump's images are gone.
  auto client = this->client();
  ASSERT_TRUE(client);
  auto checkpoints = client->list_checkpoints(job_of(alice));
  ASSERT_TRUE(checkpoints) << checkpoints.error().message;
  EXPECT_TRUE(checkpoints->empty());
  std::size_t packs = 0;
  for (const auto& entry : fs::directory_iterator(state_dir() / "packs")) {
    packs += entry.path().extension() == ".pack" ? 1 : 0;
  }
  EXPECT_EQ(packs, 0u);
  EXPECT_TRUE(!fs::exists(state_dir() / "work") || fs::is_empty(state_dir() / "work"));

  // Streaming would store the pages before the size is known: refused.
  auto streamed =
      stasisctl({"checkpoint", "--pid", std::to_string(pid), "--stream"}, alice.name());
  EXPECT_EQ(streamed.exit_code, 2) << streamed.out << streamed.err;
  EXPECT_NE(streamed.err.find("max-stored-bytes-per-user"), std::string::npos)
      << streamed.err;
}

TEST_F(ADaemonWithUserLimits, KeepsAtMostTheSetNumberOfAUsersCheckpointsAndPins) {
  TestUser alice("stasis-t-queue-keep");
  start_daemon({"--max-checkpoints-per-user", "2"});
  const pid_t pid = start_workload_as(alice, "stasis-wl-counter", dir() / "alice");
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  const std::string job = job_of(alice);
  auto checkpoint = [&] {
    auto made = stasisctl({"checkpoint", "--pid", std::to_string(pid)}, alice.name());
    EXPECT_EQ(made.exit_code, 0) << made.out << made.err << log();
    return made.out.substr(0, made.out.find('\n'));
  };
  for (int i = 0; i < 3; ++i) {
    checkpoint();
  }
  auto client = this->client();
  ASSERT_TRUE(client);
  auto kept = client->list_checkpoints(job);
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size(), 2u);

  // She may pin two; a third checkpoint is kept beside them, not pinnable.
  for (const auto& c : *kept) {
    auto pinned = stasisctl({"pin", job, c.id}, alice.name());
    EXPECT_EQ(pinned.exit_code, 0) << pinned.out << pinned.err;
  }
  const std::string newest = checkpoint();
  auto refused = stasisctl({"pin", job, newest}, alice.name());
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("max-checkpoints-per-user"), std::string::npos)
      << refused.err;
  kept = client->list_checkpoints(job);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->size(), 3u);
}

TEST_F(ADaemonWithUserLimits, TurnsOffUsersAdhocCheckpointsFromItsConfigFile) {
  TestUser alice("stasis-t-queue-off");
  const fs::path config = dir() / "stasisd.conf";
  std::ofstream(config) << "# set by the test\nadhoc-checkpoints = false\n";
  ::chmod(config.c_str(), 0644);
  start_daemon({"--config", config.string()});
  const pid_t pid = start_workload_as(alice, "stasis-wl-counter", dir() / "alice");
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};

  auto denied = stasisctl({"checkpoint", "--pid", std::to_string(pid)}, alice.name());
  EXPECT_EQ(denied.exit_code, 4) << denied.out << denied.err;
  EXPECT_NE(denied.err.find("adhoc-checkpoints"), std::string::npos) << denied.err;
  auto client = this->client();
  ASSERT_TRUE(client);
  auto runs = client->list_runs("", 0);
  ASSERT_TRUE(runs);
  EXPECT_TRUE(runs->empty());

  // Root still may.
  auto root_workload = Workload::start("stasis-wl-counter", {}, dir() / "root");
  auto run = client->checkpoint_process(root_workload.pid(), {});
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(wait_run(*client, *run).state, manager::RunState::Succeeded) << log();
}

TEST_F(ADaemonWithUserLimits,
       RefusesToStartWithAConfigFileOthersMayWriteOrWithAnUnknownKey) {
  const fs::path config = dir() / "stasisd.conf";
  std::ofstream(config) << "max-queued-per-user = 2\n";
  ::chmod(config.c_str(), 0666);
  const std::vector<std::string> argv{
      STASISD_PATH,        "--config",     config.string(),       "--bus",
      bus_address(),       "--policy-dir", policy_dir().string(), "--state-dir",
      state_dir().string()};
  auto unsafe = run_captured(argv);
  EXPECT_EQ(unsafe.exit_code, 2) << unsafe.out << unsafe.err;
  EXPECT_NE(unsafe.err.find("writable by group or others"), std::string::npos)
      << unsafe.err;

  ::chmod(config.c_str(), 0644);
  std::ofstream(config) << "max-queud-per-user = 2\n";
  auto unknown = run_captured(argv);
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out << unknown.err;
  EXPECT_NE(unknown.err.find("max-queud-per-user"), std::string::npos) << unknown.err;
}

} // namespace
} // namespace stasis::test
