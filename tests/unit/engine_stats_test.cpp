// Parsing CRIU's stats-dump / stats-restore images.
#include "engine/stats.hpp"
#include "tests/unit/engine_fake_worker.hpp"

#include <fstream>

#include <gtest/gtest.h>

namespace stasis::engine {
namespace {

// stats-dump and stats-restore of a real CRIU 4.2.1 dump/restore of `sleep`.
const unsigned char k_stats_dump[] = {
    0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57, 0x21, 0x00, 0x00, 0x00,
    0x0a, 0x1f, 0x08, 0x83, 0x02, 0x10, 0x89, 0x3c, 0x18, 0xb2, 0x03, 0x20,
    0x5a, 0x28, 0x3a, 0x30, 0x00, 0x38, 0x1f, 0x40, 0x00, 0x48, 0x00, 0x50,
    0x06, 0x58, 0x06, 0x60, 0x00, 0x68, 0x00, 0x70, 0x00};
const unsigned char k_stats_restore[] = {
    0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57, 0x0d, 0x00, 0x00, 0x00, 0x12,
    0x0b, 0x08, 0x00, 0x10, 0x00, 0x18, 0x00, 0x20, 0xc2, 0x38, 0x28, 0x1f};

std::string_view bytes(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

TEST(TheStatsParser, ReadsTheDumpStatisticsOfARealDump) {
  auto stats = parse_dump_stats(bytes(k_stats_dump, sizeof(k_stats_dump)));
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->freezing_time, Micros(259));
  EXPECT_EQ(stats->frozen_time, Micros(7689));
  EXPECT_EQ(stats->memdump_time, Micros(434));
  EXPECT_EQ(stats->memwrite_time, Micros(90));
  EXPECT_EQ(stats->pages_scanned, 58u);
  EXPECT_EQ(stats->pages_skipped_parent, 0u);
  EXPECT_EQ(stats->pages_written, 31u);
  EXPECT_EQ(stats->page_pipes, 6u);
}

TEST(TheStatsParser, ReadsTheRestoreStatisticsOfARealRestore) {
  auto stats = parse_restore_stats(bytes(k_stats_restore, sizeof(k_stats_restore)));
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->restore_time, Micros(7234));
  EXPECT_EQ(stats->pages_restored, 31u);
  EXPECT_EQ(stats->forking_time, Micros(0));
}

TEST(TheStatsParser, RejectsAFileWithTheWrongMagic) {
  std::string image(bytes(k_stats_dump, sizeof(k_stats_dump)));
  image[4] = 0;
  auto stats = parse_dump_stats(image);
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().message.find("not a CRIU stats image"), std::string::npos);
}

TEST(TheStatsParser, RejectsATruncatedFile) {
  auto stats = parse_dump_stats(bytes(k_stats_dump, 20));
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().message.find("truncated"), std::string::npos);
}

TEST(TheStatsParser, RejectsRestoreStatisticsWhereDumpStatisticsBelong) {
  auto stats = parse_dump_stats(bytes(k_stats_restore, sizeof(k_stats_restore)));
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().message.find("no dump statistics"), std::string::npos);
}

TEST(TheStatsParser, ReadsTheStatsFileOfAnImagesDir) {
  testing::ScratchDir dir;
  std::ofstream(dir.path() / "stats-dump", std::ios::binary)
      .write(reinterpret_cast<const char*>(k_stats_dump), sizeof(k_stats_dump));
  auto stats = read_dump_stats(dir.path());
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->pages_written, 31u);
  auto missing = read_restore_stats(dir.path());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("stats-restore"), std::string::npos);
}

} // namespace
} // namespace stasis::engine
