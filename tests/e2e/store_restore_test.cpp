// The store with real CRIU images: ten checkpoints of a running workload that
// changes a little memory between them, each restored on its own.
#include "tests/e2e/store_e2e_support.hpp"

namespace stasis::store::e2e {
namespace {

using AStoreOfRealCheckpoints = StoreE2e;

TEST_F(AStoreOfRealCheckpoints, RestoresEachOfTenCheckpointsAndSurvivesDeletions) {
  auto store = Store::open(m_tmp.path() / "state").value();
  auto wl = Workload::start("stasis-wl-memory", {"--bytes", "4M", "--dirty-percent", "1"},
                            m_tmp.path() / "wl");
  std::vector<CheckpointSummary> stored;
  for (int k = 0; k < 10; ++k) {
    auto dir = dump(wl);
    IngestInfo info;
    info.criu_version = "4.2.1";
    auto c = store.ingest("mem", dir, info);
    ASSERT_TRUE(c) << c.error().message;
    stored.push_back(*c);
    std::filesystem::remove_all(dir);
    wl.step();
  }
  // After the first, each checkpoint stores little more than the dirty pages.
  for (std::size_t k = 1; k < stored.size(); ++k) {
    EXPECT_LT(stored[k].stored_bytes, stored[0].stored_bytes / 8)
        << "checkpoint " << k + 1;
  }
  for (std::uint64_t id = 1; id <= 10; ++id) {
    restore_and_check(store, "mem", id, wl, id - 1);
  }
  for (std::uint64_t id : {1, 4, 5, 9}) {
    ASSERT_TRUE(store.remove("mem", id));
  }
  auto report = store.verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->checkpoints, 6U);
  for (std::uint64_t id : {2, 3, 6, 7, 8, 10}) {
    restore_and_check(store, "mem", id, wl, id - 1);
  }
}

TEST_F(AStoreOfRealCheckpoints, NamesTheDamagedCheckpointAfterAByteFlip) {
  auto store = Store::open(m_tmp.path() / "state").value();
  auto wl = Workload::start("stasis-wl-memory", {"--bytes", "2M"}, m_tmp.path() / "wl");
  ASSERT_TRUE(store.ingest("mem", dump(wl), {}));
  wl.step();
  ASSERT_TRUE(store.ingest("mem", dump(wl), {}));
  // Damage a page stored only by checkpoint 1 (the first pack, early on).
  std::vector<std::filesystem::path> packs;
  for (const auto& e : std::filesystem::directory_iterator(store.root() / "packs")) {
    packs.push_back(e.path());
  }
  std::sort(packs.begin(), packs.end(), [](const auto& a, const auto& b) {
    return std::filesystem::file_size(a) > std::filesystem::file_size(b);
  });
  {
    std::fstream f(packs.at(0), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 * 100 + 17);
    f.put('\x42');
  }
  auto report = store.verify("mem");
  ASSERT_TRUE(report);
  ASSERT_FALSE(report->ok());
  EXPECT_EQ(report->damaged.at(0).job, "mem");
  EXPECT_FALSE(report->damaged.at(0).files.empty());
  auto bad_id = report->damaged.at(0).id;
  auto m = store.materialize("mem", bad_id, m_tmp.path() / "out");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("damaged"), std::string::npos) << m.error().message;
}

} // namespace
} // namespace stasis::store::e2e
