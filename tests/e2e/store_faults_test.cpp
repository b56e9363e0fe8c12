// Faults around the store with real CRIU images: an ingest killed at random
// points and a file system that runs full.
#include "tests/e2e/store_e2e_support.hpp"

#include <random>
#include <sys/mount.h>
#include <sys/wait.h>

namespace stasis::store::e2e {
namespace {

using AStoreUnderFaults = StoreE2e;

std::filesystem::path stasisctl() {
  return std::filesystem::path(STASIS_BINARY_DIR) / "cli/stasisctl";
}

// Starts `stasisctl ingest` and returns its pid.
pid_t spawn_ingest(const std::filesystem::path& state,
                   const std::filesystem::path& images) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execl(stasisctl().c_str(), "stasisctl", "ingest", "job", images.c_str(),
            "--state-dir", state.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

TEST_F(AStoreUnderFaults, LosesNoCommittedCheckpointWhenIngestIsKilledAtRandomPoints) {
  ASSERT_TRUE(std::filesystem::exists(stasisctl())) << stasisctl() << " is not built";
  auto state = m_tmp.path() / "state";
  auto wl =
      Workload::start("stasis-wl-memory", {"--bytes", "8M", "--dirty-percent", "20"},
                      m_tmp.path() / "wl");
  std::vector<std::filesystem::path> dumps;
  for (int k = 0; k < 3; ++k) {
    dumps.push_back(dump(wl));
    wl.step();
  }
  // How long one ingest takes, to spread the kills over its whole run.
  auto start = std::chrono::steady_clock::now();
  pid_t first = spawn_ingest(state, dumps[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(first, &status, 0), first);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto span = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  std::mt19937 rng(1234);
  std::uniform_int_distribution<long> delay(0, span.count() * 5 / 4);
  int killed_midway = 0;
  for (int i = 0; i < 50; ++i) {
    pid_t pid = spawn_ingest(state, dumps[static_cast<std::size_t>(i) % dumps.size()]);
    ::usleep(static_cast<useconds_t>(delay(rng)));
    killed_midway += ::kill(pid, SIGKILL) == 0 ? 1 : 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (i % 10 == 9) {
      auto store = Store::open(state).value();
      auto fsck = store.fsck();
      ASSERT_TRUE(fsck) << fsck.error().message;
      EXPECT_TRUE(fsck->ok()) << "after kill " << i;
    }
  }
  EXPECT_GT(killed_midway, 10);
  auto store = Store::open(state).value();
  auto fsck = store.fsck();
  ASSERT_TRUE(fsck);
  EXPECT_TRUE(fsck->ok());
  auto clean = store.fsck(true);
  ASSERT_TRUE(clean);
  EXPECT_TRUE(clean->ok());
  EXPECT_EQ(clean->temp_files_removed + clean->orphan_packs_removed, 0U);
  auto verify = store.verify();
  ASSERT_TRUE(verify);
  EXPECT_TRUE(verify->ok());
  auto list = store.list("job").value();
  ASSERT_GE(list.size(), 2U);
  // A few committed checkpoints restore: the first (dump 0, 0 steps) and the
  // last (whichever dump it was: its steps come from the workload itself).
  restore_and_check(store, "job", list.front().id, wl, 0);
}

// A tmpfs mounted for one test, unmounted on destruction.
class SmallFs {
public:
  SmallFs(const std::filesystem::path& dir, const char* size) : m_dir(dir) {
    std::filesystem::create_directories(dir);
    std::string opts = std::string("size=") + size + ",mode=0700";
    m_mounted = ::mount("stasis-test", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
  ~SmallFs() {
    if (m_mounted) {
      ::umount2(m_dir.c_str(), MNT_DETACH);
    }
  }
  bool mounted() const { return m_mounted; }

private:
  std::filesystem::path m_dir;
  bool m_mounted = false;
};

TEST_F(AStoreUnderFaults, FailsCleanlyWhenTheDiskIsFull) {
  auto wl =
      Workload::start("stasis-wl-memory", {"--bytes", "4M", "--dirty-percent", "100"},
                      m_tmp.path() / "wl");
  auto first = dump(wl);
  wl.step();
  auto second = dump(wl);
  SmallFs fs(m_tmp.path() / "small", "7M");
  ASSERT_TRUE(fs.mounted()) << "cannot mount a tmpfs: " << errno_text();
  auto store = Store::open(m_tmp.path() / "small/state").value();
  ASSERT_TRUE(store.ingest("job", first, {}));
  auto full = store.ingest("job", second, {});
  ASSERT_FALSE(full);
  EXPECT_NE(full.error().message.find("No space left"), std::string::npos)
      << full.error().message;
  auto list = store.list("job").value();
  ASSERT_EQ(list.size(), 1U);
  auto fsck = store.fsck(true);
  ASSERT_TRUE(fsck);
  EXPECT_TRUE(fsck->ok());
  EXPECT_EQ(fsck->temp_files_removed + fsck->orphan_packs_removed, 0U);
  restore_and_check(store, "job", 1, wl, 0);
}

} // namespace
} // namespace stasis::store::e2e
