// The bounds on what one checkpoint may add to the store: the largest
// checkpoint (k_max_checkpoint_bytes), what its caller allows (StoreLimits,
// a quota), the most entries an images dir may hold, and the bytes a job
// stores (what a quota counts).
#include "store/ingest.hpp"
#include "store/page_server_stream.hpp"
#include "store/page_server_wire.hpp"
#include "store/store.hpp"
#include "tests/unit/store_export_builder.hpp"
#include "tests/unit/store_test_images.hpp"

#include <fcntl.h>
#include <future>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace stasis::store;
using namespace stasis::store::testing;

namespace {

constexpr std::uint64_t k_base = 0x7f0000000000;

struct LimitsFixture : ::testing::Test {
  ScratchDir tmp;
  Store store = Store::open(tmp.path() / "state").value();
  std::mt19937_64 rng{5};

  std::size_t pack_count() {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(store.root() / "packs"), {}));
  }
  // An images dir of n random (incompressible) pages.
  fs::path dump(std::size_t pages) {
    FakeMemory mem;
    mem.fill(k_base, pages, rng);
    auto dir = tmp.path() / "dump";
    write_images(dir, mem);
    return dir;
  }
  // An export file of three chunks of 60000 random bytes in one file.
  fs::path three_chunks() {
    ExportBuilder b;
    Manifest m = plain_manifest();
    std::vector<ChunkRef> refs;
    for (int i = 0; i < 3; ++i) {
      std::string chunk(60000, '\0');
      for (auto& c : chunk) {
        c = static_cast<char>(rng());
      }
      refs.push_back({b.blob(chunk), 60000});
    }
    m.files.push_back({"pages-1.img", 0644, 180000, {b.list(refs)}});
    m.logical_bytes = 180000;
    b.manifest(m);
    auto file = tmp.path() / "three.stasis";
    b.write(file);
    return file;
  }
};

// Sends everything, or says it could not (the other end shut down).
bool try_send(int fd, std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

} // namespace

TEST_F(LimitsFixture, RefusesToImportACheckpointLargerThanTheLargestTheStoreTakes) {
  ExportBuilder b;
  Manifest m = plain_manifest();
  m.files.push_back({"pages-1.img", 0644, k_max_checkpoint_bytes + 1, {}});
  m.logical_bytes = k_max_checkpoint_bytes + 1;
  b.manifest(m);
  b.write(tmp.path() / "huge.stasis");
  auto r = store.import_checkpoint(tmp.path() / "huge.stasis", "job");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(std::to_string(k_max_checkpoint_bytes)),
            std::string::npos)
      << r.error().message;
}

TEST_F(LimitsFixture, ImportsNoMoreThanItsCallerAllows) {
  auto file = three_chunks();
  StoreLimits logical;
  logical.max_logical_bytes = 100000;
  auto r = store.import_checkpoint(file, "job", logical);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("100000"), std::string::npos) << r.error().message;
  StoreLimits stored;
  stored.max_new_bytes = 100000;
  r = store.import_checkpoint(file, "job", stored);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("100000"), std::string::npos) << r.error().message;
  EXPECT_EQ(pack_count(), 0U);
  EXPECT_TRUE(store.jobs()->empty());
  auto fits = store.import_checkpoint(file, "job");
  ASSERT_TRUE(fits) << fits.error().message;
}

TEST_F(LimitsFixture, RefusesAChunkListLongerThanTheStoreWrites) {
  ExportBuilder b;
  Manifest m = plain_manifest();
  auto chunk = b.blob("x");
  std::vector<ChunkRef> refs(65, ChunkRef{chunk, 1});
  m.files.push_back({"core-1.img", 0644, 65, {b.list(refs)}});
  m.logical_bytes = 65;
  b.manifest(m);
  b.write(tmp.path() / "long.stasis");
  auto r = store.import_checkpoint(tmp.path() / "long.stasis", "job");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("entries"), std::string::npos) << r.error().message;
}

TEST_F(LimitsFixture, IngestsNoMoreThanItsCallerAllows) {
  auto dir = dump(64); // 256 KiB of random pages
  IngestInfo logical;
  logical.limits.max_logical_bytes = 100000;
  auto r = store.ingest("job", dir, logical);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("100000"), std::string::npos) << r.error().message;
  IngestInfo stored;
  stored.limits.max_new_bytes = 100000;
  r = store.ingest("job", dir, stored);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("100000"), std::string::npos) << r.error().message;
  EXPECT_EQ(pack_count(), 0U);
  EXPECT_TRUE(store.jobs()->empty());
  ASSERT_TRUE(store.ingest("job", dir, {}));
}

TEST_F(LimitsFixture, RefusesAnImagesDirLargerThanTheLargestCheckpoint) {
  auto dir = dump(4);
  stasis::util::UniqueFd fd{
      ::open((dir / "pages-2.img").c_str(), O_WRONLY | O_CREAT, 0600)};
  ASSERT_TRUE(fd);
  ASSERT_EQ(::ftruncate(fd.get(), static_cast<off_t>(k_max_checkpoint_bytes)), 0)
      << "a sparse file of the largest checkpoint's size";
  auto r = store.ingest("job", dir, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(std::to_string(k_max_checkpoint_bytes)),
            std::string::npos)
      << r.error().message;
}

TEST_F(LimitsFixture, RefusesAnImagesDirWithMoreEntriesThanTheLimit) {
  // On a tmpfs: tens of thousands of files are slow to make on a disk.
  std::string pattern = "/dev/shm/stasis-store-many-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  struct Remove {
    fs::path path;
    ~Remove() { fs::remove_all(path); }
  } remove{pattern};
  const fs::path dir = remove.path / "dump";
  FakeMemory mem;
  mem.fill(k_base, 1, rng);
  write_images(dir, mem);
  for (std::size_t i = 0; i < k_max_image_files; ++i) {
    stasis::util::UniqueFd fd{
        ::open((dir / ("x-" + std::to_string(i))).c_str(), O_WRONLY | O_CREAT, 0600)};
    ASSERT_TRUE(fd);
  }
  auto r = store.ingest("job", dir, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(std::to_string(k_max_image_files)), std::string::npos)
      << r.error().message;
}

TEST_F(LimitsFixture, RefusesAPagemapLargerThanTheLimit) {
  auto dir = dump(1);
  ASSERT_EQ(::truncate((dir / "pagemap-1.img").c_str(),
                       static_cast<off_t>(k_max_pagemap_bytes + 1)),
            0);
  auto r = store.ingest("job", dir, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(std::to_string(k_max_pagemap_bytes)),
            std::string::npos)
      << r.error().message;
}

TEST_F(LimitsFixture, RefusesAManifestLargerThanTheLimit) {
  // The header and a manifest record announcing one byte too many.
  std::string head = "STASISXP";
  const std::uint32_t version = 1, flags = 0;
  const std::uint8_t manifest_record = 1;
  const std::uint64_t length = k_max_manifest_bytes + 1;
  head.append(reinterpret_cast<const char*>(&version), 4);
  head.append(reinterpret_cast<const char*>(&flags), 4);
  head.append(reinterpret_cast<const char*>(&manifest_record), 1);
  head.append(reinterpret_cast<const char*>(&length), 8);
  ASSERT_TRUE(atomic_write_file(tmp.path() / "big.stasis", head));
  auto r = store.import_checkpoint(tmp.path() / "big.stasis", "job");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(std::to_string(k_max_manifest_bytes)),
            std::string::npos)
      << r.error().message;
  auto parsed = manifest_from_json(std::string(k_max_manifest_bytes + 1, ' '));
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find(std::to_string(k_max_manifest_bytes)),
            std::string::npos)
      << parsed.error().message;
}

TEST_F(LimitsFixture, CountsTheBytesOneJobStores) {
  ASSERT_TRUE(store.ingest("job", dump(16), {}));
  ASSERT_TRUE(store.ingest("job", dump(16), {}));
  auto mine = store.job_usage("job");
  ASSERT_TRUE(mine) << mine.error().message;
  EXPECT_EQ(mine->checkpoints, 2U);
  auto all = store.usage().value();
  ASSERT_EQ(all.jobs.size(), 1U);
  EXPECT_EQ(mine->logical_bytes, all.jobs[0].logical_bytes);
  EXPECT_EQ(mine->stored_bytes, all.jobs[0].stored_bytes);
  EXPECT_GE(mine->stored_bytes, 2U * 16 * 4096);
  auto none = store.job_usage("other");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->checkpoints, 0U);
  EXPECT_EQ(none->stored_bytes, 0U);
}

// A stream that goes beyond what it may store fails at once, and shuts the
// connection: the sender's next write fails instead of blocking (CRIU then
// ends the dump and the target thaws).
TEST_F(LimitsFixture, StopsAStreamAtItsFirstStoreFailureAndShutsTheConnection) {
  namespace ps = page_server;
  StoreLimits limits;
  limits.max_new_bytes = 100 * k_page_size;
  auto streaming = StreamingCheckpoint::begin(store, "job", limits).value();
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  stasis::util::UniqueFd server(fds[0]), criu(fds[1]);
  auto received =
      std::async(std::launch::async, [&] { return streaming->receive(server.get()); });
  const std::uint64_t dst = ps::make_dst_id(ps::k_type_pid, 7);
  std::array<std::uint8_t, ps::k_header_size> header{};
  ps::encode_header({ps::k_open2, 0, 0, dst}, header);
  ASSERT_TRUE(try_send(criu.get(), header));
  std::uint8_t no_parent = 1;
  ASSERT_EQ(::read(criu.get(), &no_parent, 1), 1);
  // 64 MiB of random pages, announced 4096 at a time, far more than allowed.
  bool sent_all = true;
  std::vector<std::uint8_t> pages(4096 * k_page_size);
  for (int run = 0; run < 4 && sent_all; ++run) {
    for (auto& byte : pages) {
      byte = static_cast<std::uint8_t>(rng());
    }
    ps::encode_header({ps::k_add, 4096, k_base + run * 4096ULL * k_page_size, dst},
                      header);
    sent_all = try_send(criu.get(), header) && try_send(criu.get(), pages);
  }
  EXPECT_FALSE(sent_all) << "the connection stayed open after the store failed";
  auto got = received.get();
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("may add"), std::string::npos)
      << got.error().message;
  EXPECT_EQ(streaming->failure(), got.error().message);
}
