// Lazy restore from the store and streaming checkpoints into it, against the
// real CRIU (criu dump --page-server, criu lazy-pages --page-server, criu
// restore --lazy-pages) and the foundation workloads.
#include "tests/e2e/lazy_e2e_support.hpp"

namespace stasis::store::e2e {
namespace {

using ALazyRestoreFromTheStore = LazyE2e;
using AStreamingCheckpoint = LazyE2e;

TEST_F(ALazyRestoreFromTheStore, ResumesEachFoundationWorkloadWhichSelfChecks) {
  auto store = Store::open(m_tmp.path() / "state").value();
  struct Case {
    const char* name;
    std::vector<std::string> args;
  };
  for (const auto& c : std::vector<Case>{{"stasis-wl-counter", {}},
                                         {"stasis-wl-memory", {"--bytes", "16M"}},
                                         {"stasis-wl-threads", {}},
                                         {"stasis-wl-pipe", {}}}) {
    SCOPED_TRACE(c.name);
    auto wl = Workload::start(c.name, c.args, m_tmp.path() / c.name);
    auto stored = store.ingest(c.name, dump(wl), {});
    ASSERT_TRUE(stored) << stored.error().message;
    lazy_restore_and_check(store, c.name, stored->id, wl);
  }
}

TEST_F(AStreamingCheckpoint, HasTheChunksOfTheSameImagesIngestedFromADirectory) {
  auto store = Store::open(m_tmp.path() / "state").value();
  auto wl = Workload::start("stasis-wl-pipe", {}, m_tmp.path() / "wl");
  auto streamed = stream_dump(store, "streamed", wl);
  // The same images as a plain CRIU images dir, ingested the ordinary way.
  auto dir = m_tmp.path() / "plain";
  ASSERT_TRUE(store.materialize("streamed", streamed.id, dir));
  auto plain = store.ingest("plain", dir, {});
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(chunk_set(store, "streamed", streamed.id),
            chunk_set(store, "plain", plain->id));
  EXPECT_EQ(file_names(store, "streamed", streamed.id),
            file_names(store, "plain", plain->id));
  EXPECT_EQ(streamed.logical_bytes, plain->logical_bytes);
  EXPECT_TRUE(store.verify()->ok());
}

TEST_F(AStreamingCheckpoint, RestoresBothFullyAndLazily) {
  auto store = Store::open(m_tmp.path() / "state").value();
  auto wl = Workload::start("stasis-wl-memory", {"--bytes", "32M"}, m_tmp.path() / "wl");
  auto first = stream_dump(store, "mem", wl);
  wl.step();
  auto second = stream_dump(store, "mem", wl);
  // The second checkpoint stores little beyond the pages the step dirtied.
  EXPECT_LT(second.stored_bytes, first.stored_bytes / 4);
  restore_and_check(store, "mem", first.id, wl, 0);
  lazy_restore_and_check(store, "mem", second.id, wl);
  EXPECT_EQ(wl.status_number("steps"), 1U);
}

} // namespace
} // namespace stasis::store::e2e
