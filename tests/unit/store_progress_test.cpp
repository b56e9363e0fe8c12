// The store's progress callbacks: ingest and materialize report bytes done
// growing to the total, which is the checkpoint's image bytes.
#include "store/store.hpp"
#include "tests/unit/store_test_images.hpp"

#include <gtest/gtest.h>

using namespace stasis::store;
using namespace stasis::store::testing;

namespace {

constexpr std::uint64_t k_base = 0x7f0000000000;
constexpr std::size_t k_pages = 8192; // 32 MiB: several 8 MiB segments

struct Report {
  std::uint64_t done;
  std::uint64_t total;
};

// Each report's done grows (or stays) and never passes the total, which is
// the same in all; the last one is total of total.
void expect_growing_to(const std::vector<Report>& reports, std::uint64_t total) {
  ASSERT_FALSE(reports.empty());
  std::uint64_t previous = 0;
  for (const auto& report : reports) {
    EXPECT_EQ(report.total, total);
    EXPECT_GE(report.done, previous);
    EXPECT_LE(report.done, report.total);
    previous = report.done;
  }
  EXPECT_EQ(reports.back().done, total);
}

std::uint64_t dir_bytes(const fs::path& dir) {
  std::uint64_t bytes = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    bytes += entry.file_size();
  }
  return bytes;
}

TEST(AStoreIngest, ReportsTheImageBytesStoredUpToTheImagesTotal) {
  ScratchDir tmp;
  auto store = Store::open(tmp.path() / "state").value();
  std::mt19937_64 rng{7};
  FakeMemory mem;
  mem.fill(k_base, k_pages, rng);
  write_images(tmp.path() / "dump", mem);
  std::vector<Report> reports;
  IngestInfo info;
  info.progress = [&](std::uint64_t done, std::uint64_t total) {
    reports.push_back({done, total});
  };
  auto summary = store.ingest("job", tmp.path() / "dump", info);
  ASSERT_TRUE(summary) << summary.error().message;
  expect_growing_to(reports, dir_bytes(tmp.path() / "dump"));
  EXPECT_GE(reports.size(), 2U); // not only the end
}

TEST(AStoreMaterialize, ReportsTheBytesWrittenUpToTheCheckpointsSize) {
  ScratchDir tmp;
  auto store = Store::open(tmp.path() / "state").value();
  std::mt19937_64 rng{8};
  FakeMemory mem;
  mem.fill(k_base, k_pages, rng);
  write_images(tmp.path() / "dump", mem);
  auto summary = store.ingest("job", tmp.path() / "dump", {});
  ASSERT_TRUE(summary) << summary.error().message;
  std::vector<Report> reports;
  std::mutex mutex; // materialize writes on several threads
  auto written = store.materialize("job", summary->id, tmp.path() / "out",
                                   [&](std::uint64_t done, std::uint64_t total) {
                                     std::lock_guard lock(mutex);
                                     reports.push_back({done, total});
                                   });
  ASSERT_TRUE(written) << written.error().message;
  expect_growing_to(reports, summary->logical_bytes);
}

} // namespace
