// CRIU flags about files: ghost-limit and link-remap (a deleted-but-open file,
// stasis-wl-ghost) and inherit-fd (a writer's pipe replaced by a FIFO on
// restore): each example of examples/flags/ through stasisd.
#include "tests/dbus/ns_example_support.hpp"
#include "util/unique_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;
using manager::RunState;

class AFileFlagJob : public FlagExampleTest {
protected:
  // Restores the job after the dump killed `workload` and lets it verify itself.
  void restore_and_verify(Workload& workload, const std::string& job) {
    workload.reap_after_dump();
    auto restored = restore(job);
    ASSERT_EQ(restored.state, RunState::Succeeded) << restored.error << "\n" << log();
    workload.adopt(restored.pid);
    EXPECT_EQ(workload.verify(), "");
  }
};

TEST_F(AFileFlagJob, GhostLimitAdmitsABigDeletedFile) {
  auto workload = Workload::start("stasis-wl-ghost", {"--bytes", "2M"}, dir() / "ghost");
  ASSERT_EQ(workload.verify(), "");
  ASSERT_NO_FATAL_FAILURE(start_with("ghost-limit", workload.pid()));
  auto info = checkpoint("scratch-holder");
  ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
  restore_and_verify(workload, "scratch-holder");
}

// CRIU's RPC has no field for --no-ghost-fiemap: it reaches CRIU through a
// configuration file the request names, and the deleted file comes back.
TEST_F(AFileFlagJob, GhostFiemapOffReachesCriuAndTheDeletedFileComesBack) {
  auto workload = Workload::start("stasis-wl-ghost", {"--bytes", "2M"}, dir() / "ghost");
  ASSERT_EQ(workload.verify(), "");
  ASSERT_NO_FATAL_FAILURE(
      start_with("ghost-limit", workload.pid(),
                 {{"ghost-limit: 4M", "ghost-limit: 4M\n      ghost-fiemap: false"}}));
  auto info = checkpoint("scratch-holder");
  ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
  EXPECT_NE(log().find("passed in criu-options.conf: no-ghost-fiemap"), std::string::npos)
      << log();
  restore_and_verify(workload, "scratch-holder");
}

TEST_F(AFileFlagJob, GhostLimitBelowTheFileFailsClearly) {
  auto workload = Workload::start("stasis-wl-ghost", {"--bytes", "2M"}, dir() / "ghost");
  ASSERT_NO_FATAL_FAILURE(start_with("ghost-limit", workload.pid(),
                                     {{"ghost-limit: 4M", "ghost-limit: 1M"}}));
  auto info = checkpoint("scratch-holder");
  ASSERT_EQ(info.state, RunState::Failed);
  EXPECT_NE(info.error.find("ghost file"), std::string::npos) << info.error;
  EXPECT_NE(info.error.find("increase limit"), std::string::npos) << info.error;
  // A failed checkpoint leaves the process running and intact.
  EXPECT_EQ(workload.verify(), "");
}

TEST_F(AFileFlagJob, LinkRemapDumpsAnUnlinkedButLinkedFile) {
  auto workload = Workload::start(
      "stasis-wl-ghost", {"--bytes", "64K", "--hard-link", "yes"}, dir() / "linked");
  ASSERT_EQ(workload.verify(), "");
  ASSERT_NO_FATAL_FAILURE(start_with("link-remap", workload.pid()));
  auto info = checkpoint("renamed-log");
  ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
  restore_and_verify(workload, "renamed-log");
}

TEST_F(AFileFlagJob, WithoutLinkRemapTheUnlinkedButLinkedFileFailsClearly) {
  auto workload = Workload::start(
      "stasis-wl-ghost", {"--bytes", "64K", "--hard-link", "yes"}, dir() / "linked");
  ASSERT_NO_FATAL_FAILURE(start_with("link-remap", workload.pid(),
                                     {{"link-remap: true", "link-remap: false"}}));
  auto info = checkpoint("renamed-log");
  ASSERT_EQ(info.state, RunState::Failed);
  // CRIU: "Can't create link remap for .../scratch. Use link-remap option."
  EXPECT_NE(info.error.find("scratch"), std::string::npos) << info.error;
  EXPECT_NE(info.error.find("link-remap"), std::string::npos) << info.error;
  EXPECT_EQ(workload.verify(), "");
}

// A shell loop printing 1, 2, 3, ... into a pipe we read.
class AWriterJob : public FlagExampleTest {
protected:
  ~AWriterJob() override {
    if (m_writer > 0) {
      ::kill(m_writer, SIGKILL);
      ::waitpid(m_writer, nullptr, WNOHANG);
    }
  }

  // Starts the writer (its own session, stdout into a pipe of ours).
  void start_writer() {
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    m_pipe.reset(pipe_fds[0]);
    m_writer = ::fork();
    ASSERT_GE(m_writer, 0);
    if (m_writer == 0) {
      ::setsid();
      ::dup2(pipe_fds[1], STDOUT_FILENO);
      const int null_fd = ::open("/dev/null", O_RDWR);
      ::dup2(null_fd, STDIN_FILENO);
      ::dup2(null_fd, STDERR_FILENO);
      ::close_range(3, ~0U, 0);
      ::execl("/bin/sh", "sh", "-c",
              "i=0; while :; do i=$((i+1)); echo $i || exit 3; sleep 0.05; done",
              nullptr);
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
  }

  // Reads numbers from fd until at least `count` consecutive ones arrived (5 s
  // at most); returns every whole line read (a read may bring more).
  static std::vector<long> read_numbers(int fd, std::size_t count) {
    std::vector<long> numbers;
    std::string pending;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    char buffer[256];
    while (numbers.size() < count && std::chrono::steady_clock::now() < deadline) {
      pollfd poller{fd, POLLIN, 0};
      if (::poll(&poller, 1, 100) <= 0) {
        continue;
      }
      const auto got = ::read(fd, buffer, sizeof buffer);
      if (got <= 0) {
        break;
      }
      pending.append(buffer, static_cast<std::size_t>(got));
      for (auto end = pending.find('\n'); end != std::string::npos;
           end = pending.find('\n')) {
        numbers.push_back(std::stol(pending.substr(0, end)));
        pending.erase(0, end + 1);
      }
    }
    return numbers;
  }

  util::UniqueFd m_pipe;
  pid_t m_writer = -1;
};

TEST_F(AWriterJob, InheritFdReplacesTheWritersPipeWithAFifo) {
  ASSERT_NO_FATAL_FAILURE(start_writer());
  const auto before = read_numbers(m_pipe.get(), 3);
  ASSERT_GE(before.size(), 3u); // a read may bring more lines
  char link[64] = {};
  ASSERT_GT(::readlink(("/proc/" + std::to_string(m_writer) + "/fd/1").c_str(), link,
                       sizeof link - 1),
            0);
  const std::string key = link; // pipe:[INODE]
  const auto fifo = dir() / "writer.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_NO_FATAL_FAILURE(
      start_with("inherit-fd", m_writer,
                 {{"pipe:[4026532000]", key},
                  {"/run/stasis-examples/log-writer.fifo", fifo.string()}}));
  auto info = checkpoint("log-writer");
  ASSERT_EQ(info.state, RunState::Succeeded) << info.error << "\n" << log();
  ::waitpid(m_writer, nullptr, 0);
  m_writer = -1;
  long last = before.back();
  for (long number : read_numbers(m_pipe.get(), 1000)) {
    last = std::max(last, number);
  }
  m_pipe.reset();

  // Without a reader on the FIFO the restore fails before CRIU runs.
  auto refused = restore("log-writer");
  EXPECT_EQ(refused.state, RunState::Failed);
  EXPECT_NE(refused.error.find("needs a reader"), std::string::npos) << refused.error;

  // The new reader listens on the FIFO before the restore opens it.
  util::UniqueFd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(reader);
  auto restored = restore("log-writer");
  ASSERT_EQ(restored.state, RunState::Succeeded) << restored.error << "\n" << log();
  m_writer = restored.pid;
  const auto after = read_numbers(reader.get(), 3);
  ASSERT_GE(after.size(), 3u); // a read may bring more lines
  // The shell's counter went on where it stopped, into the FIFO.
  EXPECT_GT(after[0], last);
  EXPECT_LE(after[0], last + 2);
  EXPECT_EQ(after[1], after[0] + 1);
  EXPECT_EQ(after[2], after[1] + 1);
}

} // namespace
} // namespace stasis::test
