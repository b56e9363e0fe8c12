#include "store/pagemap.hpp"
#include "store/store.hpp"
#include "tests/unit/store_test_images.hpp"

#include <sys/stat.h>

#include <gtest/gtest.h>

using namespace stasis::store;
using namespace stasis::store::testing;

namespace {

constexpr std::uint64_t k_base = 0x7f0000000000;

struct StoreFixture : ::testing::Test {
  ScratchDir tmp;
  Store store = Store::open(tmp.path() / "state").value();
  std::mt19937_64 rng{42};
  int dumps = 0;

  CheckpointSummary ingest(const FakeMemory& mem,
                           const std::set<std::uint64_t>& in_parent = {}) {
    auto dir = tmp.path() / ("dump" + std::to_string(++dumps));
    write_images(dir, mem, in_parent);
    auto r = store.ingest("job", dir, {});
    EXPECT_TRUE(r) << r.error().message;
    return r.value_or(CheckpointSummary{});
  }

  // Page contents by vaddr of a materialized checkpoint.
  std::map<std::uint64_t, std::string> restored_pages(std::uint64_t id) {
    auto dir = tmp.path() / ("out" + std::to_string(id) + "-" + std::to_string(++dumps));
    auto r = store.materialize("job", id, dir);
    EXPECT_TRUE(r) << r.error().message;
    auto pm_text = slurp(dir / "pagemap-1.img");
    auto pm = parse_pagemap(
        {reinterpret_cast<const std::uint8_t*>(pm_text.data()), pm_text.size()});
    EXPECT_TRUE(pm);
    auto pages = slurp(dir / "pages-1.img");
    std::map<std::uint64_t, std::string> out;
    std::size_t off = 0;
    for (const auto& e : pm->entries) {
      EXPECT_FALSE(e.in_parent());
      for (std::uint64_t k = 0; k < e.nr_pages; ++k, off += 4096) {
        out[e.vaddr + k * 4096] = pages.substr(off, 4096);
      }
    }
    EXPECT_EQ(off, pages.size());
    return out;
  }
};

} // namespace

TEST_F(StoreFixture, MaterializesByteIdenticalImages) {
  FakeMemory mem;
  mem.fill(k_base, 100, rng);
  auto c = ingest(mem);
  EXPECT_EQ(c.id, 1U);
  auto out = tmp.path() / "out";
  ASSERT_TRUE(store.materialize("job", 1, out));
  for (const char* name :
       {"inventory.img", "core-1.img", "pagemap-1.img", "pages-1.img"}) {
    EXPECT_EQ(slurp(out / name), slurp(tmp.path() / "dump1" / name)) << name;
  }
}

TEST_F(StoreFixture, StoresOnlyTheDirtyPagesOfTheNextCheckpoint) {
  FakeMemory mem;
  mem.fill(k_base, 512, rng);
  auto first = ingest(mem);
  EXPECT_GT(first.stored_bytes, 512U * 4096);
  for (std::uint64_t page : {7, 200, 411}) {
    mem.pages[k_base + page * 4096] = FakeMemory::random_page(rng);
  }
  auto second = ingest(mem);
  EXPECT_GE(second.stored_bytes, 3U * 4096);
  EXPECT_LT(second.stored_bytes, 3U * 4096 + 3 * 1200 + 1024);
  EXPECT_EQ(restored_pages(2), mem.pages);
}

TEST_F(StoreFixture, DeduplicatesPagesThatShiftInsideTheImage) {
  FakeMemory mem;
  mem.fill(k_base, 512, rng);
  ingest(mem);
  mem.fill(k_base - 64 * 4096, 64, rng); // a new mapping below: every page moves
  auto second = ingest(mem);
  EXPECT_LT(second.stored_bytes, 64U * 4096 + 8 * 1200);
  EXPECT_EQ(restored_pages(2), mem.pages);
}

TEST_F(StoreFixture, StoresZeroPagesForFree) {
  FakeMemory mem;
  for (int i = 0; i < 256; ++i) {
    mem.pages[k_base + i * 4096] = std::string(4096, '\0');
  }
  auto c = ingest(mem);
  EXPECT_LT(c.stored_bytes, 16U * 1024);
  EXPECT_EQ(restored_pages(1), mem.pages);
}

TEST_F(StoreFixture, ResolvesCriuParentPagesAtIngest) {
  FakeMemory mem;
  mem.fill(k_base, 64, rng);
  ingest(mem);
  std::set<std::uint64_t> unchanged;
  for (int i = 0; i < 64; ++i) {
    if (i % 5 != 0) {
      unchanged.insert(k_base + i * 4096);
    } else {
      mem.pages[k_base + i * 4096] = FakeMemory::random_page(rng);
    }
  }
  auto second = ingest(mem, unchanged);
  EXPECT_LT(second.stored_bytes, 13U * 4096 + 4096);
  // Checkpoint 2 restores on its own, even after checkpoint 1 is gone.
  ASSERT_TRUE(store.remove("job", 1));
  EXPECT_EQ(restored_pages(2), mem.pages);
}

TEST_F(StoreFixture, RefusesParentPagesWithoutAParentCheckpoint) {
  FakeMemory mem;
  mem.fill(k_base, 4, rng);
  write_images(tmp.path() / "inc", mem, {k_base});
  auto r = store.ingest("job", tmp.path() / "inc", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("parent"), std::string::npos);
}

TEST_F(StoreFixture, RefusesADirectoryThatIsNotACriuDump) {
  fs::create_directories(tmp.path() / "empty");
  auto r = store.ingest("job", tmp.path() / "empty", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("inventory.img"), std::string::npos);
}

TEST_F(StoreFixture, KeepsEveryOtherCheckpointRestorableWhenTheFirstIsDeleted) {
  std::vector<FakeMemory> states;
  FakeMemory mem;
  mem.fill(k_base, 128, rng);
  for (int i = 0; i < 4; ++i) {
    mem.pages[k_base + static_cast<std::uint64_t>(i) * 4096 * 9] =
        FakeMemory::random_page(rng);
    states.push_back(mem);
    ingest(mem);
  }
  ASSERT_TRUE(store.remove("job", 1));
  ASSERT_TRUE(store.remove("job", 3));
  EXPECT_EQ(restored_pages(2), states[1].pages);
  EXPECT_EQ(restored_pages(4), states[3].pages);
  auto report = store.verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->checkpoints, 2U);
}

TEST_F(StoreFixture, NeverReusesTheIdOfADeletedNewestCheckpoint) {
  FakeMemory mem;
  mem.fill(k_base, 2, rng);
  ingest(mem);
  ingest(mem);
  ASSERT_TRUE(store.remove("job", 2));
  EXPECT_EQ(ingest(mem).id, 3U);
}

TEST_F(StoreFixture, RefusesToDeleteAPinnedCheckpoint) {
  FakeMemory mem;
  mem.fill(k_base, 2, rng);
  ingest(mem);
  ASSERT_TRUE(store.set_pinned("job", 1, true));
  auto r = store.remove("job", 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("pinned"), std::string::npos);
  ASSERT_TRUE(store.set_pinned("job", 1, false));
  EXPECT_TRUE(store.remove("job", 1));
}

TEST_F(StoreFixture, RejectsInvalidJobNames) {
  FakeMemory mem;
  write_images(tmp.path() / "d", mem);
  for (const char* bad : {"", "../x", ".hidden", "a/b"}) {
    EXPECT_FALSE(store.ingest(bad, tmp.path() / "d", {})) << bad;
  }
}

TEST_F(StoreFixture, StoresAndRestoresImagesLargerThanOneReadSegment) {
  // 2200 pages (over 8 MiB): two ingest segments and several materialize
  // extents, with zero pages and CRIU parent pages spread across them.
  FakeMemory mem;
  mem.fill(k_base, 2200, rng);
  for (std::uint64_t i = 0; i < 2200; i += 97) {
    mem.pages[k_base + i * 4096] = std::string(4096, '\0');
  }
  ingest(mem);
  std::set<std::uint64_t> unchanged;
  for (std::uint64_t i = 0; i < 2200; ++i) {
    if (i % 13 == 0) {
      mem.pages[k_base + i * 4096] = FakeMemory::random_page(rng);
    } else if (i % 3 == 0) {
      unchanged.insert(k_base + i * 4096);
    }
  }
  auto second = ingest(mem, unchanged);
  EXPECT_LT(second.stored_bytes, 170U * 4096 + 100 * 1200);
  EXPECT_EQ(restored_pages(1).size(), 2200U);
  EXPECT_EQ(restored_pages(2), mem.pages);
}

TEST_F(StoreFixture, WritesZeroPagesAsHolesWhenMaterializing) {
  FakeMemory mem;
  mem.fill(k_base, 16, rng);
  for (int i = 16; i < 1040; ++i) {
    mem.pages[k_base + i * 4096] = std::string(4096, '\0');
  }
  ingest(mem);
  auto out = tmp.path() / "holes";
  ASSERT_TRUE(store.materialize("job", 1, out));
  EXPECT_EQ(slurp(out / "pages-1.img"), slurp(tmp.path() / "dump1" / "pages-1.img"));
  struct stat st {};
  ASSERT_EQ(::stat((out / "pages-1.img").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1040 * 4096);
  EXPECT_LT(static_cast<std::uint64_t>(st.st_blocks) * 512, 64U * 4096);
}
