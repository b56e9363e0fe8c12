// Shared helpers of the lazy-restore / streaming-checkpoint e2e tests: stasis's
// page server (store/) in a thread, real CRIU on the other side.
#pragma once

#include "engine/lazy_pages.hpp"
#include "store/lazy_source.hpp"
#include "store/page_server_socket.hpp"
#include "store/page_server_stream.hpp"
#include "store/reader.hpp"
#include "tests/e2e/store_e2e_support.hpp"

#include <future>
#include <set>
#include <thread>

namespace stasis::store::e2e {

// Every blob (chunk lists and chunks) a checkpoint references.
inline std::set<Hash> chunk_set(const Store& store, const std::string& job,
                                std::uint64_t id) {
  std::set<Hash> out;
  auto m = store.get(job, id);
  std::vector<std::string> problems;
  auto index = BlobIndex::load(store.root() / "packs", problems);
  if (!m || !index) {
    ADD_FAILURE() << "cannot read checkpoint " << job << "/" << id;
    return out;
  }
  for (const auto& f : m->files) {
    out.insert(f.lists.begin(), f.lists.end());
    auto refs = file_chunks(*index, f);
    if (!refs) {
      ADD_FAILURE() << refs.error().message;
      continue;
    }
    for (const auto& ref : *refs) {
      if (!ref.hash.is_zero()) {
        out.insert(ref.hash);
      }
    }
  }
  return out;
}

// Image names of a checkpoint.
inline std::set<std::string> file_names(const Store& store, const std::string& job,
                                        std::uint64_t id) {
  std::set<std::string> out;
  auto m = store.get(job, id);
  if (m) {
    for (const auto& f : m->files) {
      out.insert(f.name);
    }
  }
  return out;
}

// True when dir holds a file named pages-*.img larger than max_bytes.
inline bool has_big_pages_file(const std::filesystem::path& dir,
                               std::uintmax_t max_bytes) {
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    auto name = e.path().filename().string();
    if (name.starts_with("pages-") && e.file_size() > max_bytes) {
      return true;
    }
  }
  return false;
}

class LazyE2e : public StoreE2e {
protected:
  // Streams a dump of wl (criu dump --page-server, left running) into the
  // store as the next checkpoint of job.
  CheckpointSummary stream_dump(Store& store, const std::string& job,
                                const Workload& wl) {
    auto listener = page_server::Listener::loopback("127.0.0.1", 0).value();
    auto streaming = StreamingCheckpoint::begin(store, job).value();
    auto received = std::async(std::launch::async, [&]() -> Result<void> {
      auto conn = STASIS_TRY(listener.accept(std::chrono::seconds(30)));
      return streaming->receive(conn.get());
    });
    auto dir = m_tmp.path() / ("stream-" + std::to_string(++m_count));
    std::filesystem::create_directories(dir);
    auto r = test::run_command(
        {test::criu_binary().string(), "dump", "-t", std::to_string(wl.pid()), "-D",
         dir.string(), "--leave-running", "--page-server", "--address", "127.0.0.1",
         "--port", std::to_string(listener.port()), "-o", "dump.log"});
    EXPECT_EQ(r.exit_code, 0) << r.error << "\n" << log_tail(dir / "dump.log");
    auto got = received.get();
    EXPECT_TRUE(got) << got.error().message;
    EXPECT_FALSE(has_big_pages_file(dir, 0)) << "the dump wrote a pages file";
    auto summary = streaming->commit(dir, {});
    EXPECT_TRUE(summary) << summary.error().message;
    std::filesystem::remove_all(dir);
    return summary.value();
  }

  // Restores checkpoint job/id lazily: stasis serves the pages to CRIU's
  // lazy-pages daemon over 127.0.0.1; checks the workload and that every lazy
  // page was served.
  void lazy_restore_and_check(Store& store, const std::string& job, std::uint64_t id,
                              Workload& wl) {
    stop(wl);
    auto source = LazySource::open(store, job, id);
    ASSERT_TRUE(source) << source.error().message;
    auto dir = m_tmp.path() / ("lazy-" + std::to_string(++m_count));
    auto work = dir / "work";
    ASSERT_TRUE((*source)->write_images(dir / "images"));
    std::filesystem::create_directories(work);
    EXPECT_FALSE(has_big_pages_file(dir / "images", 256 << 10))
        << "the restore dir holds the pages";
    auto listener = page_server::Listener::loopback("127.0.0.1", 0).value();
    auto served = std::async(std::launch::async, [&]() -> Result<LazyServeStats> {
      auto conn = STASIS_TRY(listener.accept(std::chrono::seconds(30)));
      return (*source)->serve(conn.get());
    });
    engine::LazyPagesOptions lo;
    lo.images_dir = dir / "images";
    lo.work_dir = work;
    lo.address = "127.0.0.1";
    lo.port = listener.port();
    auto daemon = engine::LazyPagesDaemon::start(test::criu_binary(), lo);
    ASSERT_TRUE(daemon) << daemon.error().message();
    wl.reset_status();
    auto r = test::run_command({test::criu_binary().string(), "restore", "-d", "-D",
                                (dir / "images").string(), "-W", work.string(),
                                "--lazy-pages", "-o", "restore.log"});
    ASSERT_EQ(r.exit_code, 0) << r.error << "\n" << log_tail(work / "restore.log");
    wl.adopt(wl.pid());
    ASSERT_TRUE(wl.wait_for_ticks(1, 10s)) << "no status after the lazy restore";
    EXPECT_EQ(wl.verify(), "");
    auto done = daemon->wait(30s);
    EXPECT_TRUE(done) << done.error().message();
    auto stats = served.get();
    ASSERT_TRUE(stats) << stats.error().message;
    EXPECT_EQ((*source)->pages_sent(), (*source)->lazy_pages());
    EXPECT_TRUE((*source)->checked()) << "the background check found damage";
    EXPECT_GT((*source)->lazy_pages(), 0U);
    EXPECT_EQ(wl.verify(), "") << "after all pages are in";
    std::filesystem::remove_all(dir);
  }
};

} // namespace stasis::store::e2e
