// The store and stasisd against hostile or unlucky conditions, with real
// users, real CRIU and real workloads: a user's dump dir that holds more than
// CRIU's images, a daemon killed in the middle of a checkpoint, a streaming
// checkpoint on a full disk.
#include "store/store.hpp"
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"
#include "tests/support/temp_dir.hpp"

#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <grp.h>
#include <random>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// True when some file under dir contains needle.
bool some_file_contains(const fs::path& dir, const std::string& needle) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!it->is_regular_file()) {
      continue;
    }
    std::ifstream in(it->path(), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    if (text.find(needle) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// Names in dir (empty when it is absent).
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    out.push_back(it->path().filename().string());
  }
  return out;
}

// The pids of pid's child processes.
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  for (const auto& task : entries(fs::path("/proc") / std::to_string(pid) / "task")) {
    std::ifstream in(fs::path("/proc") / std::to_string(pid) / "task" / task /
                     "children");
    for (pid_t child = 0; in >> child;) {
      out.push_back(child);
    }
  }
  return out;
}

// Runs body in a child process as user; true when it returned true.
bool as_user(const TestUser& user, const std::function<bool()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const gid_t gid = user.gid();
    if (::setgroups(1, &gid) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(user.uid(), user.uid(), user.uid()) != 0) {
      ::_exit(126);
    }
    ::_exit(body() ? 0 : 1);
  }
  int status = 0;
  return pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

// The dump of a non-root target runs CRIU as its owner, into a dir that
// user owns; the store reads it as root. What the user places there besides
// CRIU's images (a symlink to a root-only file, a FIFO, a hard link) is
// refused with the names of all three, and nothing of the root file is stored.
TEST(AStoreIngestingAUsersDumpDir, RefusesTheSymlinkFifoAndHardLinkTheUserPlaced) {
  TestUser user("stasis-t-store-plant");
  TempDir tmp("stasis-store-plant");
  ASSERT_EQ(::chmod(tmp.path().c_str(), 0711), 0);
  std::string secret(4096, '\0');
  std::mt19937_64 rng{std::random_device{}()};
  for (auto& c : secret) {
    c = static_cast<char>(rng());
  }
  const fs::path secret_file = tmp.path() / "root-only";
  { std::ofstream(secret_file, std::ios::binary) << secret; }
  ASSERT_EQ(::chmod(secret_file.c_str(), 0600), 0);
  const fs::path images = tmp.path() / "images";
  fs::create_directories(images);
  std::ofstream(images / "inventory.img") << "inventory";
  std::ofstream(images / "core-1.img") << std::string(3000, 'c');
  for (const auto& path : {images, images / "inventory.img", images / "core-1.img"}) {
    ASSERT_EQ(::chown(path.c_str(), user.uid(), user.gid()), 0);
  }
  ASSERT_TRUE(as_user(user, [&] {
    return ::symlink(secret_file.c_str(), (images / "zz-secret.img").c_str()) == 0 &&
           ::mkfifo((images / "zz-fifo.img").c_str(), 0600) == 0 &&
           ::link((images / "core-1.img").c_str(), (images / "zz-link.img").c_str()) == 0;
  })) << "the user could not place the entries";

  auto store = store::Store::open(tmp.path() / "state").value();
  auto stored = store.ingest("job", images, {});
  ASSERT_FALSE(stored) << "stored the user's dir";
  for (const char* name : {"zz-secret.img", "zz-fifo.img", "zz-link.img"}) {
    EXPECT_NE(stored.error().message.find(name), std::string::npos)
        << stored.error().message;
  }
  EXPECT_TRUE(store.jobs()->empty());
  EXPECT_FALSE(some_file_contains(tmp.path() / "state", secret))
      << "the root-only file went into the store";
}

class StasisctlOnADamagedStore : public DaemonTest {};

// One unreadable manifest: `stasisctl checkpoints` (through stasisd or on the
// state dir) lists it as damaged with its problem, and the others as usual.
// An export goes back in only into a job its importer names.
TEST_F(StasisctlOnADamagedStore, ListsTheDamagedCheckpointAndImportsOnlyIntoANamedJob) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 10s));
  write_policy("c.yaml", pidfile_job("c", write_pidfile("c", workload.pid()),
                                     "criu:\n  leave-running: true"));
  start_daemon();
  for (int i = 0; i < 2; ++i) {
    auto made = stasisctl({"checkpoint", "c"});
    ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
  }
  { std::ofstream(state_dir() / "jobs/c/1.json") << "{\"format\": 1, \"files\": [[[["; }
  auto table = stasisctl({"checkpoints", "c"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("damaged"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("DAMAGED checkpoint 1: "), std::string::npos) << table.out;
  for (const auto& args :
       {std::vector<std::string>{"--json", "checkpoints", "c"},
        std::vector<std::string>{"--json", "checkpoints", "c", "--state-dir",
                                 state_dir().string()}}) {
    auto listed = stasisctl(args);
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    auto items = nlohmann::json::parse(listed.out);
    ASSERT_EQ(items.size(), 2U) << listed.out;
    EXPECT_TRUE(items[0]["damaged"].get<bool>()) << listed.out;
    EXPECT_FALSE(items[0]["problem"].get<std::string>().empty()) << listed.out;
    EXPECT_FALSE(items[1]["damaged"].get<bool>()) << listed.out;
  }

  const auto file = dir() / "c2.stasis";
  auto exported =
      stasisctl({"export", "--state-dir", state_dir().string(), "c", "2", file.string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  stop_daemon(SIGTERM);
  const auto other = dir() / "other";
  auto unnamed = stasisctl({"import", "--state-dir", other.string(), file.string()});
  EXPECT_EQ(unnamed.exit_code, 2) << unnamed.out << unnamed.err;
  EXPECT_NE(unnamed.err.find("--job"), std::string::npos) << unnamed.err;
  auto named = stasisctl(
      {"import", "--state-dir", other.string(), file.string(), "--job", "mine"});
  EXPECT_EQ(named.exit_code, 0) << named.out << named.err;
  EXPECT_NE(named.out.find("imported as mine/1"), std::string::npos) << named.out;
  EXPECT_FALSE(fs::exists(other / "jobs/c"));
}

class ADaemonKilledMidCheckpoint : public DaemonTest {};

// A daemon killed while CRIU writes a large dump leaves the run's images and
// logs behind; the next daemon removes them at its start, and the store is
// intact.
TEST_F(ADaemonKilledMidCheckpoint, RemovesTheRunsLeftoversAtItsNextStart) {
  auto workload = Workload::start("stasis-wl-memory", {"--bytes", "256M"}, dir() / "mem");
  ASSERT_TRUE(workload.wait_for_ticks(2, 30s));
  write_policy("mem.yaml", pidfile_job("mem", write_pidfile("mem", workload.pid()),
                                       "criu:\n  leave-running: true"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  auto first = client->checkpoint("mem", {});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(wait_run(*client, *first, 120s).state, manager::RunState::Succeeded) << log();

  auto second = client->checkpoint("mem", {});
  ASSERT_TRUE(second) << second.error().message;
  const fs::path images = state_dir() / "work" / *second / "images";
  // Wait until CRIU is writing the pages, then kill the daemon.
  bool writing = false;
  for (int i = 0; i < 6000 && !writing; ++i) {
    for (const auto& name : entries(images)) {
      std::error_code ec;
      writing =
          writing || (name.starts_with("pages-") && fs::file_size(images / name, ec) > 0);
    }
    if (!writing) {
      std::this_thread::sleep_for(10ms);
    }
  }
  ASSERT_TRUE(writing) << "CRIU never wrote pages into " << images << "\n" << log();
  // stasisd's children (CRIU) outlive it and come to us, the subreaper.
  std::vector<pid_t> criu;
  for (pid_t child : children_of(::getpid())) {
    std::error_code ec;
    auto exe = fs::read_symlink(fs::path("/proc") / std::to_string(child) / "exe", ec);
    if (exe.filename() == "stasisd") {
      criu = children_of(child);
    }
  }
  ASSERT_FALSE(criu.empty()) << "no CRIU worker under stasisd";
  stop_daemon(SIGKILL);
  for (pid_t pid : criu) { // it finishes the dump on its own; wait for that
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  ASSERT_TRUE(fs::exists(images)) << "the killed run left nothing to clean";
  ASSERT_TRUE(fs::exists(state_dir() / "logs" / *second));

  start_daemon();
  EXPECT_TRUE(entries(state_dir() / "work").empty())
      << "left: " << fmt::format("{}", fmt::join(entries(state_dir() / "work"), " "));
  EXPECT_FALSE(fs::exists(state_dir() / "logs" / *second));
  auto checkpoints = this->client()->list_checkpoints("mem");
  ASSERT_TRUE(checkpoints) << checkpoints.error().message;
  EXPECT_EQ(checkpoints->size(), 1U);
  stop_daemon(SIGTERM);
  auto fsck = stasisctl({"fsck", "--state-dir", state_dir().string()});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  EXPECT_NE(fsck.out.find("clean"), std::string::npos) << fsck.out;
  EXPECT_EQ(workload.verify(), "") << "the target runs on";
}

// A tmpfs of a few MiB mounted over the state dir for one test.
class SmallStateDir {
public:
  SmallStateDir(const fs::path& dir, const std::string& size) : m_dir(dir) {
    m_mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", 0,
                        ("size=" + size + ",mode=0700").c_str()) == 0;
  }
  ~SmallStateDir() {
    if (m_mounted) {
      ::umount2(m_dir.c_str(), MNT_DETACH);
    }
  }
  bool mounted() const { return m_mounted; }

private:
  fs::path m_dir;
  bool m_mounted = false;
};

class ADaemonStreamingOntoAFullDisk : public DaemonTest {
protected:
  ~ADaemonStreamingOntoAFullDisk() override { stop_daemon(SIGKILL); }
};

// CRIU streams the pages into the store; the store's disk runs full. The run
// fails at once naming the full filesystem, and the target runs on.
TEST_F(ADaemonStreamingOntoAFullDisk, FailsNamingTheFullFilesystemAndThawsTheTarget) {
  auto workload = Workload::start("stasis-wl-memory", {"--bytes", "128M"}, dir() / "mem");
  ASSERT_TRUE(workload.wait_for_ticks(2, 30s));
  write_policy("mem.yaml", pidfile_job("mem", write_pidfile("mem", workload.pid()),
                                       "criu:\n  stream-pages: true"));
  SmallStateDir small(state_dir(), "24m");
  ASSERT_TRUE(small.mounted()) << "cannot mount a tmpfs on " << state_dir() << ": "
                               << std::strerror(errno);
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  auto run = client->checkpoint("mem", {});
  ASSERT_TRUE(run) << run.error().message;
  const auto info = wait_run(*client, *run, 60s);
  RecordProperty("run_error", info.error);
  EXPECT_EQ(info.state, manager::RunState::Failed) << log();
  EXPECT_NE(info.error.find("No space left on device"), std::string::npos) << info.error;
  EXPECT_NE(info.error.find(state_dir().string()), std::string::npos) << info.error;
  EXPECT_EQ(info.error.find("timed out"), std::string::npos) << info.error;
  EXPECT_EQ(workload.verify(), "") << "the target runs on";
  auto checkpoints = client->list_checkpoints("mem");
  ASSERT_TRUE(checkpoints) << checkpoints.error().message;
  EXPECT_TRUE(checkpoints->empty());
}

} // namespace
} // namespace stasis::test
