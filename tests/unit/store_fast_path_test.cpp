// Later checkpoints hash with SHA-256 only the pages whose XXH3-128 changed
// since the parent (its fast table, jobs/<job>/<id>.fast), and restore
// bit-exact whether the parent has a table, none, or a stale one.
#include "store/fast_table.hpp"
#include "store/pagemap.hpp"
#include "store/store.hpp"
#include "tests/unit/store_test_images.hpp"

#include <fstream>

#include <gtest/gtest.h>

using namespace stasis::store;
using namespace stasis::store::testing;

namespace {

constexpr std::uint64_t k_base = 0x7f0000000000;

struct AFastPath : ::testing::Test {
  ScratchDir tmp;
  fs::path state = tmp.path() / "state";
  Store store = Store::open(state).value();
  std::mt19937_64 rng{7};
  int dumps = 0;

  CheckpointSummary ingest(const FakeMemory& mem) {
    auto dir = tmp.path() / ("dump" + std::to_string(++dumps));
    write_images(dir, mem, {});
    auto r = store.ingest("job", dir, {});
    EXPECT_TRUE(r) << r.error().message;
    return r.value_or(CheckpointSummary{});
  }

  fs::path table(std::uint64_t id) {
    return state / "jobs" / "job" / (std::to_string(id) + ".fast");
  }

  // The materialized pages image of checkpoint id equals the last dump's.
  void expect_restores_last_dump(std::uint64_t id) {
    auto out = tmp.path() / ("out" + std::to_string(++dumps));
    auto r = store.materialize("job", id, out);
    ASSERT_TRUE(r) << r.error().message;
    auto dump = tmp.path() / ("dump" + std::to_string(dumps - 1));
    for (const char* name : {"pagemap-1.img", "pages-1.img"}) {
      EXPECT_EQ(slurp(out / name), slurp(dump / name)) << name;
    }
  }
};

} // namespace

TEST_F(AFastPath, RestoresAChangedPageBetweenUnchangedNeighboursBitExact) {
  FakeMemory mem;
  mem.fill(k_base, 256, rng);
  ingest(mem);
  ASSERT_TRUE(fs::exists(table(1)));
  auto page = mem.pages[k_base + 100 * 4096];
  page[4095] ^= 1; // one bit of one page; pages 99 and 101 stay
  mem.pages[k_base + 100 * 4096] = page;
  auto second = ingest(mem);
  EXPECT_GE(second.stored_bytes, 1U);
  EXPECT_LT(second.stored_bytes, 3U * 4096 + 4096);
  expect_restores_last_dump(2);
  EXPECT_TRUE(fs::exists(table(2)));
}

TEST_F(AFastPath, FallsBackToFullHashingForAParentStoredWithoutATable) {
  FakeMemory mem;
  mem.fill(k_base, 128, rng);
  ingest(mem);
  fs::remove(table(1)); // as stored by code before fast tables
  mem.pages[k_base + 5 * 4096] = FakeMemory::random_page(rng);
  auto second = ingest(mem);
  EXPECT_LT(second.stored_bytes, 3U * 4096 + 4096);
  expect_restores_last_dump(2);
  EXPECT_TRUE(fs::exists(table(2)));
}

TEST_F(AFastPath, IgnoresAStaleTableLeftByAnotherCheckpoint) {
  FakeMemory b;
  b.fill(k_base, 64, rng);
  ingest(b);
  auto stale = slurp(table(1));
  ASSERT_TRUE(store.remove("job", 1));
  EXPECT_FALSE(fs::exists(table(1)));
  FakeMemory a;
  a.fill(k_base, 64, rng);
  ingest(a);
  // Checkpoint 2's table replaced by one whose fingerprints describe b's
  // pages while its manifest holds a's: the chunk tags do not match, so
  // storing b again takes nothing from checkpoint 2.
  { std::ofstream(table(2), std::ios::binary | std::ios::trunc) << stale; }
  ingest(b);
  expect_restores_last_dump(3);
}

TEST(AFastTable, RoundTripsAndRefusesATruncatedOne) {
  FastTable t;
  t["pagemap-1.img"][k_base] = {{1, 2}, 3};
  t["pagemap-1.img"][k_base + 4096] = {{4, 5}, 6};
  auto text = encode_fast_table(t);
  ASSERT_TRUE(text);
  auto back = decode_fast_table(*text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->at("pagemap-1.img").at(k_base + 4096).fast, (FastHash{4, 5}));
  EXPECT_EQ(back->at("pagemap-1.img").at(k_base).ref_tag, 3U);
  EXPECT_FALSE(decode_fast_table(std::string_view(*text).substr(0, text->size() - 1)));
  EXPECT_FALSE(decode_fast_table("garbage"));
}
