// Export files written by someone else: import refuses what stasis never
// writes (deep nesting, oversized or repeated chunks, duplicate names, sizes
// that do not add up, blobs nobody uses) and stores into the job its caller
// names, never the one the file names.
#include "store/store.hpp"
#include "tests/unit/store_export_builder.hpp"
#include "tests/unit/store_test_images.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace stasis::store;
using namespace stasis::store::testing;

namespace {

constexpr std::uint64_t k_base = 0x7f0000000000;

// A manifest whose "kernel" field is nested depth arrays deep, with a digest
// that matches (the store's compact dump of it).
std::string deeply_nested_manifest(const std::string& job, std::uint64_t id,
                                   std::size_t depth) {
  auto j = nlohmann::json::parse(manifest_to_json(plain_manifest(job, id)));
  j.erase("digest");
  j["kernel"] = "@@DEEP@@";
  std::string text = j.dump();
  text.replace(text.find("\"@@DEEP@@\""), 10, nested_arrays(depth));
  std::string digest = to_hex(sha256(text));
  text.insert(text.size() - 1, ",\"digest\":\"" + digest + "\"");
  return text;
}

struct ImportFixture : ::testing::Test {
  ScratchDir tmp;
  Store store = Store::open(tmp.path() / "state").value();
  fs::path file = tmp.path() / "in.stasis";

  std::size_t pack_count() {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(store.root() / "packs"), {}));
  }
  // The refusal's message; fails the test when the import succeeded.
  std::string refused(const std::string& job = "mine") {
    auto r = store.import_checkpoint(file, job);
    EXPECT_FALSE(r) << "imported as " << r->job << "/" << r->id;
    return r ? std::string() : r.error().message;
  }
  // A checkpoint of one small file whose one chunk is content.
  void one_file(ExportBuilder& b, Manifest& m, const std::string& name,
                std::string_view content) {
    auto chunk = b.blob(content);
    auto list = b.list({{chunk, static_cast<std::uint32_t>(content.size())}});
    m.files.push_back({name, 0644, content.size(), {list}});
    m.logical_bytes += content.size();
  }
};

} // namespace

TEST_F(ImportFixture, RefusesAManifestNestedDeeperThanTheLimit) {
  ExportBuilder b;
  b.manifest_text(deeply_nested_manifest("theirs", 1, 200'000));
  b.write(file);
  auto why = refused();
  EXPECT_NE(why.find("nested"), std::string::npos) << why;
  EXPECT_TRUE(store.jobs()->empty());
}

TEST_F(ImportFixture, ListsVerifiesAndChecksAStoreHoldingADeeplyNestedManifest) {
  FakeMemory mem;
  std::mt19937_64 rng{3};
  mem.fill(k_base, 4, rng);
  write_images(tmp.path() / "dump", mem);
  ASSERT_TRUE(store.ingest("job", tmp.path() / "dump", {}));
  ASSERT_TRUE(atomic_write_file(store.root() / "jobs/job/2.json",
                                deeply_nested_manifest("job", 2, 200'000)));
  auto list = store.list("job");
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 2U);
  auto verify = store.verify("job");
  ASSERT_TRUE(verify) << verify.error().message;
  ASSERT_EQ(verify->damaged.size(), 1U);
  EXPECT_EQ(verify->damaged[0].id, 2U);
  auto fsck = store.fsck();
  ASSERT_TRUE(fsck) << fsck.error().message;
  ASSERT_EQ(fsck->damaged.size(), 1U);
  EXPECT_EQ(fsck->damaged[0].id, 2U);
}

// One 64 MiB chunk listed 1,024 times: 64 GiB to write on restore from a
// file of a few hundred KiB.
TEST_F(ImportFixture, RefusesADedupBombOfOneLargeChunkListedManyTimes) {
  ExportBuilder b;
  std::string big(64 << 20, 'x');
  auto chunk = b.blob(big);
  std::vector<ChunkRef> refs(1024, ChunkRef{chunk, static_cast<std::uint32_t>(64 << 20)});
  auto list = b.list(refs);
  Manifest m = plain_manifest();
  m.files.push_back({"pages-1.img", 0644, 1024ULL * (64 << 20), {list}});
  m.logical_bytes = m.files[0].size;
  b.manifest(m);
  b.write(file);
  auto why = refused();
  EXPECT_NE(why.find("chunk"), std::string::npos) << why;
  EXPECT_TRUE(store.jobs()->empty());
  EXPECT_EQ(pack_count(), 0U);
}

TEST_F(ImportFixture, RefusesDuplicateFileNames) {
  ExportBuilder b;
  Manifest m = plain_manifest();
  one_file(b, m, "core-1.img", "first");
  one_file(b, m, "core-1.img", "second");
  b.manifest(m);
  b.write(file);
  auto why = refused();
  EXPECT_NE(why.find("core-1.img"), std::string::npos) << why;
  EXPECT_EQ(pack_count(), 0U);
}

TEST_F(ImportFixture, RefusesAFileWhoseDeclaredSizeDoesNotMatchItsChunks) {
  ExportBuilder b;
  Manifest m = plain_manifest();
  one_file(b, m, "core-1.img", "twelve bytes");
  m.files[0].size = 4096;
  m.logical_bytes = 4096;
  b.manifest(m);
  b.write(file);
  auto why = refused();
  EXPECT_NE(why.find("core-1.img"), std::string::npos) << why;
  EXPECT_EQ(pack_count(), 0U);
}

TEST_F(ImportFixture, RefusesALogicalSizeThatIsNotTheSumOfTheFiles) {
  ExportBuilder b;
  Manifest m = plain_manifest();
  one_file(b, m, "core-1.img", "twelve bytes");
  m.logical_bytes = 1;
  b.manifest(m);
  b.write(file);
  auto why = refused();
  EXPECT_NE(why.find("logical"), std::string::npos) << why;
}

TEST_F(ImportFixture, RefusesBlobsTheCheckpointDoesNotUse) {
  ExportBuilder b;
  Manifest m = plain_manifest();
  one_file(b, m, "core-1.img", "used");
  b.blob(std::string(60000, 'u')); // fills the disk, named by nothing
  b.manifest(m);
  b.write(file);
  auto why = refused();
  EXPECT_NE(why.find("does not use"), std::string::npos) << why;
  EXPECT_EQ(pack_count(), 0U);
}

TEST_F(ImportFixture, StoresIntoTheJobItsCallerNamesNeverTheOneTheFileNames) {
  ExportBuilder b;
  Manifest m = plain_manifest("root-job", 3);
  one_file(b, m, "inventory.img", "inventory");
  b.manifest(m);
  b.write(file);
  auto why = refused("");
  EXPECT_NE(why.find("job"), std::string::npos) << why;
  EXPECT_TRUE(store.jobs()->empty());
  auto r = store.import_checkpoint(file, "mine");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->job, "mine");
  EXPECT_EQ(r->imported_from, "root-job/3");
  EXPECT_EQ(*store.jobs(), std::vector<std::string>{"mine"});
}
