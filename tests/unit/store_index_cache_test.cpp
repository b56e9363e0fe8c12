#include "store/blob_index.hpp"
#include "store/store.hpp"
#include "tests/unit/store_test_images.hpp"

#include <gtest/gtest.h>

using namespace stasis::store;
using namespace stasis::store::testing;

namespace {

constexpr std::uint64_t k_base = 0x7f0000000000;

struct IndexCacheFixture : ::testing::Test {
  ScratchDir tmp;
  Store first = Store::open(tmp.path() / "state").value();
  Store second = Store::open(tmp.path() / "state").value();
  std::mt19937_64 rng{13};
  FakeMemory mem;
  int dumps = 0;

  fs::path dump() {
    auto dir = tmp.path() / ("dump" + std::to_string(++dumps));
    write_images(dir, mem);
    return dir;
  }

  // Materializes job/id through s and compares its pages with the dump's.
  void expect_restores(const Store& s, std::uint64_t id, const fs::path& dumped) {
    auto out = tmp.path() / ("out" + std::to_string(++dumps));
    auto r = s.materialize("job", id, out);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(slurp(out / "pages-1.img"), slurp(dumped / "pages-1.img"));
  }
};

} // namespace

TEST_F(IndexCacheFixture, AStoreSeesPacksAnotherStoreObjectAdded) {
  mem.fill(k_base, 32, rng);
  auto d1 = dump();
  ASSERT_TRUE(first.ingest("job", d1, {}));
  expect_restores(second, 1, d1); // second now holds an index of one pack
  mem.fill(k_base + (1 << 20), 32, rng);
  auto d2 = dump();
  ASSERT_TRUE(first.ingest("job", d2, {}));
  expect_restores(second, 2, d2);
  // second's ingest must dedup against first's packs, not store them again.
  auto again = second.ingest("job", dump(), {});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_LT(again->stored_bytes, 4096u * 4);
}

TEST_F(IndexCacheFixture, AStoreSeesPacksAnotherStoreObjectRemoved) {
  mem.fill(k_base, 32, rng);
  auto d1 = dump();
  ASSERT_TRUE(first.ingest("job", d1, {}));
  for (auto& [vaddr, page] : mem.pages) {
    page = FakeMemory::random_page(rng);
  }
  auto d2 = dump();
  ASSERT_TRUE(first.ingest("job", d2, {}));
  expect_restores(first, 2, d2);
  auto gc = second.remove("job", 1);
  ASSERT_TRUE(gc) << gc.error().message;
  EXPECT_GE(gc->packs_deleted + gc->packs_repacked, 1u);
  // first's cached index still names the removed pack: it must notice.
  expect_restores(first, 2, d2);
  auto report = first.fsck(true);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->problems.empty());
  // Pages of the removed checkpoint are stored anew, not assumed present.
  mem.fill(k_base, 32, rng = std::mt19937_64{13});
  auto d3 = dump();
  ASSERT_TRUE(first.ingest("job", d3, {}));
  expect_restores(second, 3, d3);
  auto verified = second.verify("job");
  ASSERT_TRUE(verified) << verified.error().message;
}

TEST(ABlobIndex, RefreshAddsNewPacksAndDropsRemovedOnes) {
  ScratchDir tmp;
  auto store = Store::open(tmp.path() / "state").value();
  std::mt19937_64 rng{5};
  FakeMemory mem;
  mem.fill(k_base, 16, rng);
  write_images(tmp.path() / "d1", mem);
  ASSERT_TRUE(store.ingest("job", tmp.path() / "d1", {}));
  auto packs = store.root() / "packs";
  std::vector<std::string> problems;
  auto index = BlobIndex::load(packs, problems).value();
  auto one = index.size();
  EXPECT_EQ(index.pack_names().size(), 1u);
  mem.fill(k_base + (1 << 20), 16, rng);
  write_images(tmp.path() / "d2", mem);
  ASSERT_TRUE(store.ingest("job", tmp.path() / "d2", {}));
  ASSERT_TRUE(index.refresh(problems));
  EXPECT_EQ(index.pack_names().size(), 2u);
  EXPECT_GT(index.size(), one);
  auto gone = index.pack_names().front();
  fs::remove(packs / gone);
  ASSERT_TRUE(index.refresh(problems));
  ASSERT_EQ(index.pack_names().size(), 1u);
  EXPECT_NE(index.pack_names().front(), gone);
  EXPECT_TRUE(problems.empty());
  // Only the remaining pack's blobs are left, each at its (renumbered) place.
  auto fresh = BlobIndex::load(packs, problems).value();
  EXPECT_EQ(index.size(), fresh.size());
  std::vector<std::uint8_t> data;
  for (const auto& [hash, loc] : index.blobs()) {
    ASSERT_NE(fresh.find(hash), nullptr);
    ASSERT_TRUE(index.read(hash, data));
  }
  // A damaged pack that appears later is reported, not trusted.
  std::string junk(100, 'x');
  ASSERT_TRUE(atomic_write_file(packs / "0000junk.pack", junk));
  ASSERT_TRUE(index.refresh(problems));
  EXPECT_EQ(problems.size(), 1u);
  EXPECT_EQ(index.pack_names().size(), 1u);
}
