// End-to-end tests of the self-checking workloads and of the test-support library
// that starts them (tests/support/workload.hpp). Real processes, run as root.
//
// How a test proves that a check CAN fail: every workload accepts the hidden flag
// `--self-test-corrupt`, which turns each SIGUSR2 step into a corruption of the
// workload's state behind its own bookkeeping (counter/threads: a redundant copy,
// memory: a byte of a page without its checksum, pipe: a skipped sequence value).
//
// The CRIU test uses the raw CLI (/opt/stasis/criu/bin/criu or $STASIS_CRIU): dump
// kills the workload, `restore -d` brings it back reparented to us (SubreaperScope).
#include "tests/support/workload.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <set>
#include <signal.h>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* k_counter = "stasis-wl-counter";
constexpr const char* k_memory = "stasis-wl-memory";
constexpr const char* k_threads = "stasis-wl-threads";
constexpr const char* k_pipe = "stasis-wl-pipe";

class WorkloadTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_EQ(::geteuid(), 0u) << "the e2e tier must run as root"; }

  Workload start(const char* name, std::vector<std::string> args = {}) {
    return Workload::start(name, std::move(args), m_dir.path() / name);
  }

  SubreaperScope m_subreaper;
  TempDir m_dir{"stasis-wl-test"};
};

using ACounterWorkload = WorkloadTest;
using AMemoryWorkload = WorkloadTest;
using AThreadsWorkload = WorkloadTest;
using APipeWorkload = WorkloadTest;
using AWorkloadHarness = WorkloadTest;

TEST_F(ACounterWorkload, CountsAndVerifies) {
  auto wl = start(k_counter, {"--interval-ms", "10"});
  ASSERT_TRUE(wl.wait_for_ticks(3, 5s));
  EXPECT_EQ(wl.verify(), "");
  const auto status = wl.status();
  EXPECT_EQ(status.at("pid"), std::to_string(wl.pid()));
  EXPECT_EQ(status.at("check"), "pass");
  EXPECT_EQ(status.at("verified"), "1");
  EXPECT_GE(std::stoull(status.at("counter")), 3u);
  EXPECT_EQ(wl.verify(), "");
}

TEST_F(ACounterWorkload, AcknowledgesStepsWithoutLosingTrack) {
  auto wl = start(k_counter);
  wl.step();
  wl.step();
  EXPECT_EQ(wl.status_number("steps"), 2u);
  EXPECT_EQ(wl.verify(), "");
}

TEST_F(ACounterWorkload, FailsVerificationWhenItsCopyIsCorrupted) {
  auto wl = start(k_counter, {"--self-test-corrupt"});
  ASSERT_EQ(wl.verify(), "");
  wl.step();
  const auto reason = wl.verify();
  EXPECT_NE(reason.find("disagrees with its redundant copy"), std::string::npos)
      << reason;
  EXPECT_EQ(wl.status().at("check"), "fail");
}

TEST_F(AMemoryWorkload, HoldsTheRequestedBytesAndVerifies) {
  auto wl = start(k_memory, {"--bytes", "4M"});
  const auto status = wl.status();
  EXPECT_EQ(status.at("bytes"), std::to_string(4 << 20));
  EXPECT_EQ(status.at("regions"), "1");
  EXPECT_EQ(status.at("pages"), "1024");
  EXPECT_EQ(wl.verify(), "");
}

TEST_F(AMemoryWorkload, FillsItsPagesWithDistinctNonZeroContent) {
  auto wl = start(k_memory, {"--bytes", "256K"});
  const auto address = std::stoull(wl.status().at("region_addresses"), nullptr, 16);
  std::ifstream mem("/proc/" + std::to_string(wl.pid()) + "/mem", std::ios::binary);
  mem.seekg(static_cast<std::streamoff>(address));
  std::vector<std::uint64_t> words(256 * 1024 / 8);
  ASSERT_TRUE(mem.read(reinterpret_cast<char*>(words.data()), 256 * 1024));
  std::set<std::uint64_t> first_words;
  for (std::size_t page = 0; page < 64; ++page) {
    const auto* begin = words.data() + page * 512;
    EXPECT_FALSE(std::all_of(begin, begin + 512, [](auto w) { return w == 0; })) << page;
    first_words.insert(*begin);
  }
  EXPECT_EQ(first_words.size(), 64u) << "pages must differ, or dedup gets them for free";
}

TEST_F(AMemoryWorkload, StepDirtiesPagesAndGrowsAndStillVerifies) {
  auto wl =
      start(k_memory, {"--bytes", "4M", "--dirty-percent", "25", "--grow-percent", "50"});
  const auto before = wl.status();
  wl.step();
  const auto after = wl.status();
  EXPECT_NE(after.at("digest"), before.at("digest"));
  EXPECT_EQ(after.at("dirty_pages"), "256");
  EXPECT_EQ(after.at("regions"), "2");
  EXPECT_EQ(after.at("bytes"), std::to_string(6 << 20));
  EXPECT_EQ(wl.verify(), "");
  wl.step();
  EXPECT_EQ(wl.status().at("regions"), "3");
  EXPECT_EQ(wl.verify(), "");
}

TEST_F(AMemoryWorkload, IsDeterministicForTheSameSeed) {
  auto a = start(k_memory, {"--bytes", "256K", "--seed", "7"});
  auto b = Workload::start(k_memory, {"--bytes", "256K", "--seed", "7"},
                           m_dir.path() / "second");
  a.step();
  b.step();
  EXPECT_EQ(a.status().at("digest"), b.status().at("digest"));
}

TEST_F(AMemoryWorkload, FailsVerificationWhenAPageIsCorrupted) {
  auto wl = start(k_memory, {"--bytes", "1M", "--self-test-corrupt"});
  ASSERT_EQ(wl.verify(), "");
  wl.step();
  const auto reason = wl.verify();
  EXPECT_NE(reason.find("checksum mismatch in region 0 page 128"), std::string::npos)
      << reason;
}

TEST_F(AMemoryWorkload, RejectsAMalformedSizeAtStartUp) {
  try {
    start(k_memory, {"--bytes", "12Q"});
    FAIL() << "a bad --bytes must stop the workload";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("stasis-wl-memory"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("exited with code 2"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("size '12Q' is not a byte count"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(AThreadsWorkload, AllThreadsProgressAndVerify) {
  auto wl = start(k_threads);
  EXPECT_EQ(wl.verify(), "");
  EXPECT_EQ(wl.verify(), "");
  const auto status = wl.status();
  for (const char* key : {"t0", "t1", "t2", "t3"}) {
    EXPECT_GT(std::stoull(status.at(key)), 0u) << key;
  }
}

TEST_F(AThreadsWorkload, FailsVerificationWhenAThreadsCopyIsCorrupted) {
  auto wl = start(k_threads, {"--self-test-corrupt"});
  ASSERT_EQ(wl.verify(), "");
  wl.step();
  const auto reason = wl.verify();
  EXPECT_NE(reason.find("thread 1 counter"), std::string::npos) << reason;
}

TEST_F(APipeWorkload, ChildReceivesTheSequenceAndVerifies) {
  auto wl = start(k_pipe, {"--interval-ms", "10"});
  EXPECT_EQ(wl.verify(), "");
  const auto status = wl.status();
  const auto child = static_cast<pid_t>(std::stoul(status.at("child_pid")));
  EXPECT_NE(child, wl.pid());
  EXPECT_TRUE(read_proc_stat(child).has_value());
  EXPECT_GT(std::stoull(status.at("received")), 0u);
  EXPECT_GE(std::stoull(status.at("sent")), std::stoull(status.at("received")));
  EXPECT_EQ(wl.verify(), "");
}

TEST_F(APipeWorkload, FailsVerificationWhenTheSequenceBreaks) {
  auto wl = start(k_pipe, {"--self-test-corrupt"});
  ASSERT_EQ(wl.verify(), "");
  wl.step();
  const auto reason = wl.verify();
  EXPECT_NE(reason.find("sequence break"), std::string::npos) << reason;
}

TEST_F(APipeWorkload, FailsVerificationWhenTheChildIsKilled) {
  auto wl = start(k_pipe);
  const auto child = static_cast<pid_t>(wl.status_number("child_pid"));
  ASSERT_GT(child, 0);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  const auto reason = wl.verify();
  EXPECT_FALSE(reason.empty());
}

TEST_F(AWorkloadHarness, DestructorLeavesNoProcessBehind) {
  pid_t parent = 0;
  pid_t child = 0;
  {
    auto wl = start(k_pipe);
    parent = wl.pid();
    child = static_cast<pid_t>(wl.status_number("child_pid"));
    ASSERT_GT(child, 0);
  }
  EXPECT_TRUE(wait_pid_free(parent, 2s)) << "workload " << parent << " survived";
  EXPECT_TRUE(wait_pid_gone(child, 2s)) << "pipe child " << child << " survived";
}

TEST_F(AWorkloadHarness, MovedFromWorkloadOwnsNothing) {
  auto first = start(k_counter);
  const pid_t pid = first.pid();
  Workload second = std::move(first);
  EXPECT_EQ(first.pid(), -1); // NOLINT(bugprone-use-after-move): checking the contract.
  EXPECT_EQ(second.pid(), pid);
  EXPECT_TRUE(second.alive());
}

TEST_F(AWorkloadHarness, EveryWorkloadExitsZeroOnSigterm) {
  for (const char* name : {k_counter, k_threads, k_pipe}) {
    auto wl = start(name);
    EXPECT_EQ(wl.terminate(), 0) << name;
  }
  auto memory = start(k_memory, {"--bytes", "64K"});
  EXPECT_EQ(memory.terminate(), 0);
}

TEST_F(AWorkloadHarness, ReportsAMissingBinaryByName) {
  try {
    start("stasis-wl-nonexistent");
    FAIL() << "starting a missing workload must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("stasis-wl-nonexistent"), std::string::npos);
  }
}

TEST_F(AWorkloadHarness, StartsWithStdioOnDevNullAndNoOtherFds) {
  auto wl = start(k_counter);
  const auto fd_dir = std::filesystem::path("/proc") / std::to_string(wl.pid()) / "fd";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fd_dir)) {
    EXPECT_EQ(std::filesystem::read_symlink(entry.path()), "/dev/null") << entry.path();
    ++count;
  }
  EXPECT_EQ(count, 3);
  EXPECT_EQ(::getsid(wl.pid()), wl.pid());
}

// Checkpoints a workload with the raw criu CLI and restores it detached.
void checkpoint_and_restore(Workload& wl, const std::filesystem::path& images) {
  const auto criu = criu_binary();
  ASSERT_EQ(::access(criu.c_str(), X_OK), 0) << "CRIU not found at " << criu;
  std::filesystem::create_directories(images);
  const auto dump = run_command({criu.string(), "dump", "-t", std::to_string(wl.pid()),
                                 "-D", images.string(), "-o", "dump.log", "-v4"});
  ASSERT_EQ(dump.exit_code, 0) << dump.error << " see " << (images / "dump.log");
  wl.reap_after_dump();
  const auto restore = run_command({criu.string(), "restore", "-d", "-D", images.string(),
                                    "-o", "restore.log", "-v4"});
  ASSERT_EQ(restore.exit_code, 0) << restore.error << " see " << (images / "restore.log");
  wl.adopt(wl.pid());
  ASSERT_TRUE(wl.alive()) << "restored pid " << wl.pid() << " is not running";
}

TEST_F(ACounterWorkload, SurvivesACriuDumpAndRestore) {
  auto wl = start(k_counter, {"--interval-ms", "10"});
  ASSERT_TRUE(wl.wait_for_ticks(5, 5s));
  ASSERT_EQ(wl.verify(), "");
  const std::uint64_t before = wl.ticks();
  checkpoint_and_restore(wl, m_dir.path() / "images");
  ASSERT_TRUE(wl.wait_for_ticks(before + 3, 5s)) << "ticks stuck at " << wl.ticks();
  EXPECT_EQ(wl.verify(), "");
  EXPECT_GE(wl.status_number("counter"), before);
  EXPECT_EQ(wl.status_number("verified"), 2u);
}

// A dump that catches a workload with its status file open must restore after
// the original went on writing: the status file keeps its path and size
// (status_format.hpp). The workload holds the file open 90 % of the time here.
TEST_F(ACounterWorkload, RestoresWhenDumpedWithItsStatusFileOpen) {
  const auto criu = criu_binary();
  auto wl = start(k_counter, {"--interval-ms", "10", "--status-hold-ms", "90"});
  ASSERT_TRUE(wl.wait_for_ticks(2, 5s));
  const auto images = m_dir.path() / "images";
  bool caught_open = false;
  for (int attempt = 0; attempt < 10 && !caught_open; ++attempt) {
    std::filesystem::remove_all(images);
    std::filesystem::create_directories(images);
    const auto dump = run_command({criu.string(), "dump", "-t", std::to_string(wl.pid()),
                                   "-D", images.string(), "-o", "dump.log", "-R"});
    ASSERT_EQ(dump.exit_code, 0) << dump.error << " see " << (images / "dump.log");
    std::ifstream files(images / "files.img", std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(files)),
                           std::istreambuf_iterator<char>());
    caught_open = text.find(wl.status_file().string()) != std::string::npos;
  }
  ASSERT_TRUE(caught_open) << "no dump caught the status file open";
  const std::uint64_t dumped_ticks = wl.ticks();
  ASSERT_TRUE(wl.wait_for_ticks(dumped_ticks + 3, 5s)) << "the original kept writing";
  ::kill(-wl.pid(), SIGKILL);
  wl.reap_after_dump();
  ASSERT_TRUE(wait_pid_free(wl.pid(), 10s));
  // Without the hold, the original is almost never killed between writes, so
  // no temp file is left: the restore must not need one.
  std::filesystem::remove(wl.dir() / "status.tmp");
  wl.reset_status();
  const auto restore = run_command(
      {criu.string(), "restore", "-d", "-D", images.string(), "-o", "restore.log"});
  ASSERT_EQ(restore.exit_code, 0) << restore.error << " see " << (images / "restore.log");
  wl.adopt(wl.pid());
  ASSERT_TRUE(wl.wait_for_ticks(1, 5s)) << "the restored copy wrote no status";
  EXPECT_EQ(wl.verify(), "");
}

// The other workloads survive a checkpoint too, and keep working afterwards.
struct CriuCase {
  const char* name;
  std::vector<std::string> args;
};

// Names the case in test listings (instead of a byte dump).
void PrintTo(const CriuCase& criu_case, std::ostream* out) {
  *out << criu_case.name;
}

class AnyWorkloadUnderCriu : public WorkloadTest,
                             public ::testing::WithParamInterface<CriuCase> {};

TEST_P(AnyWorkloadUnderCriu, VerifiesAndStepsAfterADumpAndRestore) {
  auto wl = start(GetParam().name, GetParam().args);
  ASSERT_EQ(wl.verify(), "");
  wl.step();
  const auto before = wl.status();
  checkpoint_and_restore(wl, m_dir.path() / "images");
  ASSERT_TRUE(wl.wait_for_ticks(std::stoull(before.at("ticks")) + 2, 5s));
  EXPECT_EQ(wl.verify(), "");
  wl.step();
  EXPECT_EQ(wl.verify(), "");
  const auto after = wl.status();
  EXPECT_EQ(after.at("pid"), before.at("pid"));
  if (after.count("child_pid") > 0) {
    EXPECT_EQ(after.at("child_pid"), before.at("child_pid"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Workloads, AnyWorkloadUnderCriu,
    ::testing::Values(CriuCase{k_memory, {"--bytes", "4M", "--grow-percent", "25"}},
                      CriuCase{k_threads, {}}, CriuCase{k_pipe, {}}),
    [](const ::testing::TestParamInfo<CriuCase>& param_info) {
      return std::string(param_info.param.name).substr(std::string("stasis-wl-").size());
    });

} // namespace
} // namespace stasis::test
