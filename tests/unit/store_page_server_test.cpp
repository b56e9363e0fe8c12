// stasis's page server without CRIU: a scripted peer on a socketpair speaks
// the protocol (store/page_server_wire.hpp); the server must store, serve and
// refuse exactly as specified.
#include "store/blob_sink.hpp"
#include "store/catalog.hpp"
#include "store/lazy_source.hpp"
#include "store/page_server_images.hpp"
#include "store/page_server_socket.hpp"
#include "store/page_server_stream.hpp"
#include "store/page_server_wire.hpp"
#include "store/pagemap.hpp"
#include "store/reader.hpp"

#include <fstream>
#include <future>
#include <sys/socket.h>

#include <gtest/gtest.h>

namespace stasis::store {
namespace {

namespace ps = page_server;

class ScratchDir {
public:
  ScratchDir() {
    char pattern[] = "/tmp/stasis-ps-test-XXXXXX";
    m_path = ::mkdtemp(pattern);
  }
  ~ScratchDir() { fs::remove_all(m_path); }
  const fs::path& path() const { return m_path; }

private:
  fs::path m_path;
};

// The CRIU side of a socketpair.
class Peer {
public:
  Peer() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    server.reset(fds[0]);
    m_fd.reset(fds[1]);
  }
  void send(std::uint32_t cmd, std::uint64_t nr, std::uint64_t vaddr, std::uint64_t dst,
            const std::string& payload = "") {
    std::array<std::uint8_t, ps::k_header_size> raw{};
    ps::encode_header({cmd, nr, vaddr, dst}, raw);
    ASSERT_TRUE(ps::send_full(m_fd.get(), raw));
    ASSERT_TRUE(
        ps::send_full(m_fd.get(), {reinterpret_cast<const std::uint8_t*>(payload.data()),
                                   payload.size()}));
  }
  std::string receive(std::size_t n) {
    std::string out(n, '\0');
    auto got = ps::read_full(m_fd.get(), {reinterpret_cast<std::uint8_t*>(out.data()), n},
                             false);
    EXPECT_TRUE(got);
    return out;
  }
  void close() { m_fd.reset(); }
  util::UniqueFd server;

private:
  util::UniqueFd m_fd;
};

std::string page(char fill) {
  return std::string(k_page_size, fill);
}

constexpr std::uint64_t k_pid = 7;
constexpr std::uint64_t k_vaddr = 0x7f0000000000;
const std::uint64_t k_dst = ps::make_dst_id(ps::k_type_pid, k_pid);
const std::uint32_t k_lazy_present = (k_pe_present | k_pe_lazy) << 16;

// Streams three pages (one of them zero) of pid 7 and commits them.
CheckpointSummary stream_checkpoint(Store& store, const fs::path& images) {
  auto streaming = StreamingCheckpoint::begin(store, "job").value();
  Peer peer;
  auto received = std::async(std::launch::async,
                             [&] { return streaming->receive(peer.server.get()); });
  peer.send(ps::k_open2, 0, 0, k_dst);
  EXPECT_EQ(peer.receive(1), std::string(1, '\0')) << "OPEN2 answers 'no parent'";
  peer.send(ps::k_add_f | k_lazy_present, 3, k_vaddr, k_dst,
            page('a') + page('\0') + page('b'));
  peer.send(ps::k_close, 0, 0, 0);
  EXPECT_EQ(peer.receive(4), std::string(4, '\0')) << "CLOSE answers status 0";
  EXPECT_TRUE(received.get());
  fs::create_directories(images);
  std::ofstream(images / "inventory.img") << "inventory";
  return streaming->commit(images, {}).value();
}

TEST(AStreamingCheckpoint, StoresStreamedPagesWithCriusImageNames) {
  ScratchDir tmp;
  auto store = Store::open(tmp.path() / "state").value();
  auto summary = stream_checkpoint(store, tmp.path() / "dump");
  auto out = tmp.path() / "out";
  ASSERT_TRUE(store.materialize("job", summary.id, out));
  std::ifstream pages(out / "pages-65537.img", std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(pages)), {});
  EXPECT_EQ(content, page('a') + page('\0') + page('b'));
  std::ifstream pm_in(out / "pagemap-7.img", std::ios::binary);
  std::string pm_text((std::istreambuf_iterator<char>(pm_in)), {});
  auto pm = parse_pagemap(
      {reinterpret_cast<const std::uint8_t*>(pm_text.data()), pm_text.size()});
  ASSERT_TRUE(pm);
  EXPECT_EQ(pm->pages_id, 65537U);
  ASSERT_EQ(pm->entries.size(), 1U);
  EXPECT_EQ(pm->entries[0].flags, k_pe_present | k_pe_lazy);
  EXPECT_EQ(pm->entries[0].nr_pages, 3U);
  EXPECT_TRUE(fs::exists(out / "inventory.img"));
}

TEST(AStreamingCheckpoint, RefusesAGetOnADumpConnectionAndLeavesNoTrace) {
  ScratchDir tmp;
  auto store = Store::open(tmp.path() / "state").value();
  {
    auto streaming = StreamingCheckpoint::begin(store, "job").value();
    Peer peer;
    auto received = std::async(std::launch::async,
                               [&] { return streaming->receive(peer.server.get()); });
    peer.send(ps::k_open2, 0, 0, k_dst);
    peer.receive(1);
    peer.send(ps::k_add_f | k_lazy_present, 1, k_vaddr, k_dst, page('x'));
    peer.send(ps::k_get, 1, k_vaddr, k_pid);
    auto got = received.get();
    ASSERT_FALSE(got);
    EXPECT_NE(got.error().message.find("refusing GET"), std::string::npos)
        << got.error().message;
  }
  EXPECT_TRUE(fs::is_empty(tmp.path() / "state" / "packs"));
  EXPECT_TRUE(store.list("job")->empty());
}

TEST(AStreamingCheckpoint, RefusesPagesForAnUnopenedImageAndParentPages) {
  ScratchDir tmp;
  auto store = Store::open(tmp.path() / "state").value();
  for (std::uint32_t cmd :
       {ps::k_add_f | k_lazy_present, ps::k_hole | (k_pe_parent << 16)}) {
    auto streaming = StreamingCheckpoint::begin(store, "job").value();
    Peer peer;
    auto received = std::async(std::launch::async,
                               [&] { return streaming->receive(peer.server.get()); });
    if ((cmd & 0xffff) == ps::k_hole) {
      peer.send(ps::k_open2, 0, 0, k_dst);
      peer.receive(1);
    }
    peer.send(cmd, 1, k_vaddr, k_dst);
    auto got = received.get();
    EXPECT_FALSE(got);
  }
}

// Commits checkpoint id + 1: checkpoint id with a page list per page (in a
// new pack); returns its id.
std::uint64_t commit_with_a_list_per_page(const fs::path& tmp, std::uint64_t id) {
  const auto packs = tmp / "state" / "packs";
  std::vector<std::string> problems;
  auto index = BlobIndex::load(packs, problems).value();
  Catalog catalog(tmp / "state" / "jobs");
  auto manifest = catalog.load("job", id).value();
  {
    BlobSink sink(index, packs);
    for (auto& f : manifest.files) {
      if (f.name == "pages-65537.img") {
        auto refs = file_chunks(index, f).value();
        EXPECT_EQ(refs.size(), 3U);
        const std::vector<std::uint64_t> far_apart{0, 1ULL << 17, 2ULL << 17};
        f.lists = ps::store_page_lists(sink, refs, far_apart).value();
        EXPECT_EQ(f.lists.size(), 3U);
      }
    }
    EXPECT_TRUE(sink.flush());
    manifest.id = id + 1;
    EXPECT_TRUE(catalog.commit(manifest));
    sink.release();
  }
  return manifest.id;
}

TEST(ALazySource, ServesLazyPagesFromChunksAndRefusesOthers) {
  ScratchDir tmp;
  auto store = Store::open(tmp.path() / "state").value();
  auto summary = stream_checkpoint(store, tmp.path() / "dump");
  auto source = LazySource::open(store, "job", summary.id).value();
  EXPECT_EQ(source->lazy_pages(), 3U);
  EXPECT_TRUE(source->checked()) << "every chunk list and chunk is in the store";
  auto dir = tmp.path() / "restore";
  ASSERT_TRUE(source->write_images(dir));
  EXPECT_EQ(fs::file_size(dir / "pages-65537.img"), 0U) << "lazy pages stay in the store";

  Peer peer;
  auto served =
      std::async(std::launch::async, [&] { return source->serve(peer.server.get()); });
  peer.send(ps::k_get, 2, k_vaddr + k_page_size, k_pid);
  auto reply = peer.receive(ps::k_header_size + 2 * k_page_size);
  auto h = ps::decode_header(std::span<const std::uint8_t, ps::k_header_size>(
      reinterpret_cast<const std::uint8_t*>(reply.data()), ps::k_header_size));
  EXPECT_EQ(h.command(), ps::k_get);
  EXPECT_EQ(h.nr_pages, 2U);
  EXPECT_EQ(h.vaddr, k_vaddr + k_page_size);
  EXPECT_EQ(reply.substr(ps::k_header_size), page('\0') + page('b'));
  peer.send(ps::k_get, 1, k_vaddr + 3 * k_page_size, k_pid);
  auto got = served.get();
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("not a lazy page"), std::string::npos)
      << got.error().message;
}

// A checkpoint whose page lists are not grouped the way stasis groups them
// (here: a list per page) is read up front and served the same.
TEST(ALazySource, ServesACheckpointWithOtherListBoundaries) {
  ScratchDir tmp;
  auto store = Store::open(tmp.path() / "state").value();
  auto summary = stream_checkpoint(store, tmp.path() / "dump");
  const std::uint64_t id = commit_with_a_list_per_page(tmp.path(), summary.id);
  auto source = LazySource::open(store, "job", id).value();
  EXPECT_EQ(source->lazy_pages(), 3U);
  ASSERT_TRUE(source->write_images(tmp.path() / "restore"));
  Peer peer;
  auto served =
      std::async(std::launch::async, [&] { return source->serve(peer.server.get()); });
  peer.send(ps::k_get, 3, k_vaddr, k_pid);
  auto reply = peer.receive(ps::k_header_size + 3 * k_page_size);
  EXPECT_EQ(reply.substr(ps::k_header_size), page('a') + page('\0') + page('b'));
  peer.send(ps::k_close, 0, 0, 0);
  EXPECT_EQ(peer.receive(4), std::string(4, '\0'));
  EXPECT_TRUE(served.get());
  EXPECT_TRUE(source->checked());
}

TEST(ALazySource, RefusesACheckpointWhoseBlobsAreMissing) {
  ScratchDir tmp;
  auto store = Store::open(tmp.path() / "state").value();
  auto summary = stream_checkpoint(store, tmp.path() / "dump");
  for (const auto& e : fs::directory_iterator(tmp.path() / "state" / "packs")) {
    fs::remove(e.path());
  }
  auto source = LazySource::open(store, "job", summary.id);
  ASSERT_FALSE(source);
  EXPECT_NE(source.error().message.find("is damaged; cannot restore it lazily"),
            std::string::npos)
      << source.error().message;
}

// stasisd keeps the packs' entries tables between lazy restores: a pack
// written since must still be read, a pack removed since must be missed.
TEST(ALazySourceIndexCache, ReadsAPackWrittenSinceTheLastLazyRestore) {
  ScratchDir tmp;
  auto store = Store::open(tmp.path() / "state").value();
  auto summary = stream_checkpoint(store, tmp.path() / "dump");
  LazySourceIndexCache cache;
  ASSERT_TRUE(LazySource::open(store, "job", summary.id, &cache));
  const std::uint64_t id = commit_with_a_list_per_page(tmp.path(), summary.id);
  auto source = LazySource::open(store, "job", id, &cache).value();
  ASSERT_TRUE(source->write_images(tmp.path() / "restore"));
  Peer peer;
  auto served =
      std::async(std::launch::async, [&] { return source->serve(peer.server.get()); });
  peer.send(ps::k_get, 3, k_vaddr, k_pid);
  auto reply = peer.receive(ps::k_header_size + 3 * k_page_size);
  EXPECT_EQ(reply.substr(ps::k_header_size), page('a') + page('\0') + page('b'));
  peer.send(ps::k_close, 0, 0, 0);
  EXPECT_EQ(peer.receive(4), std::string(4, '\0'));
  EXPECT_TRUE(served.get());
  EXPECT_TRUE(source->checked());
}

TEST(ALazySourceIndexCache, MissesAPackRemovedSinceTheLastLazyRestore) {
  ScratchDir tmp;
  auto store = Store::open(tmp.path() / "state").value();
  auto summary = stream_checkpoint(store, tmp.path() / "dump");
  LazySourceIndexCache cache;
  ASSERT_TRUE(LazySource::open(store, "job", summary.id, &cache));
  for (const auto& e : fs::directory_iterator(tmp.path() / "state" / "packs")) {
    fs::remove(e.path());
  }
  auto source = LazySource::open(store, "job", summary.id, &cache);
  ASSERT_FALSE(source);
  EXPECT_NE(source.error().message.find("is damaged; cannot restore it lazily"),
            std::string::npos)
      << source.error().message;
}

} // namespace
} // namespace stasis::store
