// How a run's progress is measured and rate-limited: the throttle of its
// RunProgress signals, the memory a dump is expected to write and the pages
// images it has written.
#include "manager/dump_progress.hpp"
#include "manager/progress_throttle.hpp"
#include "tests/support/temp_dir.hpp"

#include <fcntl.h>
#include <fstream>
#include <memory>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

using namespace std::chrono_literals;

TEST(AProgressThrottle, SendsAtMostTenSignalsASecondWithinAPhase) {
  ProgressThrottle throttle;
  const ProgressThrottle::TimePoint t0{};
  int sent = 0;
  for (int ms = 0; ms < 1000; ms += 10) { // 100 reports in one second
    sent += throttle.admit("dumping", static_cast<std::uint64_t>(ms) + 1, 1000,
                           t0 + std::chrono::milliseconds(ms))
                ? 1
                : 0;
  }
  EXPECT_EQ(sent, 10);
}

TEST(AProgressThrottle, AlwaysSendsANewPhaseAndTheReportThatCompletesOne) {
  ProgressThrottle throttle;
  const ProgressThrottle::TimePoint t0{};
  EXPECT_TRUE(throttle.admit("dumping", 0, 100, t0));
  EXPECT_FALSE(throttle.admit("dumping", 50, 100, t0 + 1ms));
  EXPECT_TRUE(throttle.admit("dumping", 100, 100, t0 + 2ms));  // complete
  EXPECT_FALSE(throttle.admit("dumping", 100, 100, t0 + 3ms)); // the same again
  EXPECT_TRUE(throttle.admit("storing", 0, 0, t0 + 4ms));      // a new phase
  EXPECT_FALSE(throttle.admit("storing", 0, 0, t0 + 500ms));   // nothing new
  EXPECT_TRUE(throttle.admit("storing", 10, 100, t0 + 500ms));
}

TEST(AProcessStatus, GivesTheResidentAnonymousAndSharedMemory) {
  const std::string status = "Name:\tworkload\nVmRSS:\t   70000 kB\n"
                             "RssAnon:\t   51200 kB\nRssFile:\t    8000 kB\n"
                             "RssShmem:\t    1024 kB\nThreads:\t1\n";
  EXPECT_EQ(resident_private_bytes(status), (51200ULL + 1024) * 1024);
  EXPECT_EQ(resident_private_bytes("Name:\tkthread\n"), 0U);
  EXPECT_EQ(resident_private_bytes("RssAnonX:\t5 kB\nRssAnon:\tjunk kB\n"), 0U);
}

TEST(ADumpOfThisProcess, ExpectsAtLeastTheMemoryItTouched) {
  constexpr std::size_t k_bytes = 32 << 20;
  auto memory = std::make_unique<char[]>(k_bytes);
  volatile char* bytes = memory.get();
  for (std::size_t i = 0; i < k_bytes; i += 4096) {
    bytes[i] = 1; // every page written: resident
  }
  EXPECT_GE(expected_dump_bytes(::getpid()), k_bytes);
}

TEST(PagesBytes, CountsOnlyRegularPagesImagesAndFollowsNoLink) {
  test::TempDir dir;
  auto write = [&](const std::string& name, std::size_t bytes) {
    std::ofstream(dir.path() / name) << std::string(bytes, 'x');
  };
  write("pages-1.img", 8192);
  write("pages-2.img", 4096);
  write("pagemap-1.img", 100);
  write("core-1.img", 1000);
  write("elsewhere", 1 << 20);
  std::filesystem::create_symlink(dir.path() / "elsewhere", dir.path() / "pages-3.img");
  const int fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(pages_bytes_in(fd), 12288U);
  write("pages-4.img", 4096); // grows between measurements
  EXPECT_EQ(pages_bytes_in(fd), 16384U);
  ::close(fd);
}

TEST(PagesBytes, LooksAtNoMoreThanTheLimitOfEntries) {
  test::TempDir dir;
  for (std::size_t i = 0; i <= k_max_progress_entries; ++i) { // one too many
    std::ofstream(dir.path() / ("pages-" + std::to_string(i) + ".img")) << 'x';
  }
  const int fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(pages_bytes_in(fd), k_max_progress_entries);
  ::close(fd);
}

} // namespace
} // namespace stasis::manager
