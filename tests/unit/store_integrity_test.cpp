#include "policy/retention.hpp"
#include "store/blob_index.hpp"
#include "store/manifest.hpp"
#include "store/store.hpp"
#include "tests/unit/store_test_images.hpp"

#include <fcntl.h>

#include <gtest/gtest.h>

using namespace stasis::store;
using namespace stasis::store::testing;

namespace {

constexpr std::uint64_t k_base = 0x7f0000000000;

struct IntegrityFixture : ::testing::Test {
  ScratchDir tmp;
  Store store = Store::open(tmp.path() / "state").value();
  std::mt19937_64 rng{7};
  FakeMemory mem;
  int dumps = 0;

  CheckpointSummary ingest(Store& into, const std::string& job = "job") {
    auto dir = tmp.path() / ("dump" + std::to_string(++dumps));
    write_images(dir, mem);
    auto r = into.ingest(job, dir, {});
    EXPECT_TRUE(r) << r.error().message;
    return r.value_or(CheckpointSummary{});
  }

  std::vector<fs::path> packs(const Store& s) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(s.root() / "packs")) {
      out.push_back(e.path());
    }
    return out;
  }

  void flip_byte(const fs::path& file, std::uint64_t offset) {
    auto text = slurp(file);
    text.at(offset) ^= 0x5a;
    int fd = ::open(file.c_str(), O_WRONLY);
    ASSERT_EQ(::pwrite(fd, text.data(), text.size(), 0),
              static_cast<ssize_t>(text.size()));
    ::close(fd);
  }
};

} // namespace

TEST(AManifest, RoundTripsThroughJsonAndDetectsTampering) {
  Manifest m;
  m.job = "web";
  m.id = 12;
  m.previous = 11;
  m.created = std::chrono::sys_seconds{std::chrono::seconds{1700000000}};
  m.criu_version = "4.2.1";
  m.stats.frozen_usec = 1234;
  m.logical_bytes = 99;
  m.files.push_back({"pages-1.img", 0644, 8192, {sha256(std::string_view("x"))}});
  auto text = manifest_to_json(m);
  auto back = manifest_from_json(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, 12U);
  EXPECT_EQ(*back->previous, 11U);
  EXPECT_EQ(back->created, m.created);
  EXPECT_EQ(back->stats.frozen_usec, 1234U);
  ASSERT_EQ(back->files.size(), 1U);
  EXPECT_EQ(back->files[0].lists, m.files[0].lists);
  auto pos = text.find("4.2.1");
  text.replace(pos, 5, "4.2.2");
  auto tampered = manifest_from_json(text);
  ASSERT_FALSE(tampered);
  EXPECT_NE(tampered.error().message.find("digest"), std::string::npos);
}

TEST(AManifest, IsWrittenAtomicallyWithoutLeftovers) {
  ScratchDir tmp;
  ASSERT_TRUE(atomic_write_file(tmp.path() / "m.json", "one"));
  ASSERT_TRUE(atomic_write_file(tmp.path() / "m.json", "two"));
  EXPECT_EQ(slurp(tmp.path() / "m.json"), "two");
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()),
            1);
}

TEST(APack, RefusesADamagedEntriesTable) {
  ScratchDir tmp;
  auto writer = PackWriter::create(tmp.path()).value();
  std::string blob = "hello";
  auto hash = sha256(blob);
  ASSERT_TRUE(writer->append(hash, Codec::Raw, 5,
                             {reinterpret_cast<const std::uint8_t*>(blob.data()), 5}));
  ASSERT_TRUE(writer->commit());
  auto path = tmp.path() / writer->name();
  std::vector<std::string> problems;
  auto index = BlobIndex::load(tmp.path(), problems).value();
  ASSERT_TRUE(index.contains(hash));
  std::vector<std::uint8_t> out;
  ASSERT_TRUE(index.read(hash, out));
  EXPECT_EQ(std::string(out.begin(), out.end()), "hello");
  // Flip a byte inside the entries table (right after the 5-byte blob).
  auto text = slurp(path);
  text[16 + 5 + 40] ^= 1;
  ASSERT_TRUE(atomic_write_file(path, text));
  auto damaged = BlobIndex::load(tmp.path(), problems).value();
  EXPECT_FALSE(damaged.contains(hash));
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_NE(problems[0].find("entries table"), std::string::npos);
}

TEST_F(IntegrityFixture,
       VerifyNamesTheCheckpointWithAFlippedByteAndMaterializeRefusesIt) {
  mem.fill(k_base, 64, rng);
  ingest(store);
  auto pack = packs(store).at(0);
  flip_byte(pack, 16 + 4096 * 3 + 100); // inside the 4th stored page
  auto report = store.verify("job");
  ASSERT_TRUE(report);
  ASSERT_EQ(report->damaged.size(), 1U);
  EXPECT_EQ(report->damaged[0].id, 1U);
  EXPECT_EQ(report->damaged[0].files, std::vector<std::string>{"pages-1.img"});
  auto r = store.materialize("job", 1, tmp.path() / "out");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("pages-1.img"), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp.path() / "out"));
  auto fsck = store.fsck(true);
  ASSERT_TRUE(fsck);
  EXPECT_FALSE(fsck->ok());
}

TEST_F(IntegrityFixture, FsckRemovesLeftoversOfInterruptedOperations) {
  mem.fill(k_base, 16, rng);
  ingest(store);
  ingest(store);
  // An ingest that died after writing its packs but before its manifest.
  mem.fill(k_base + (1 << 20), 16, rng);
  ingest(store);
  ASSERT_TRUE(remove_durably(store.root() / "jobs/job/3.json"));
  ASSERT_TRUE(
      atomic_write_file(store.root() / "packs" / ".tmp-deadbeef.pack", "partial"));
  auto report = store.fsck();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->temp_files_removed, 1U);
  EXPECT_EQ(report->orphan_packs_removed, 1U);
  auto again = store.fsck(true);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->ok());
  EXPECT_EQ(again->temp_files_removed + again->orphan_packs_removed, 0U);
  EXPECT_TRUE(store.verify()->ok());
}

TEST_F(IntegrityFixture, GcRepacksPacksThatAreMostlyGarbage) {
  mem.fill(k_base, 200, rng);
  ingest(store);
  for (int i = 20; i < 200; ++i) {
    mem.pages[k_base + i * 4096] = FakeMemory::random_page(rng);
  }
  ingest(store);
  ASSERT_EQ(packs(store).size(), 2U);
  auto gc = store.remove("job", 1);
  ASSERT_TRUE(gc) << gc.error().message;
  EXPECT_EQ(gc->packs_repacked, 1U);
  EXPECT_GT(gc->bytes_freed, 150U * 4096);
  EXPECT_TRUE(store.verify()->ok());
  auto usage = store.usage();
  ASSERT_TRUE(usage);
  EXPECT_LT(usage->pack_bytes, 215U * 4096);
}

TEST_F(IntegrityFixture, ExportsAndImportsACheckpointIntoAnotherStore) {
  mem.fill(k_base, 64, rng);
  ingest(store);
  mem.pages[k_base] = FakeMemory::random_page(rng);
  ingest(store);
  auto file = tmp.path() / "ck.stasis";
  ASSERT_TRUE(store.export_checkpoint("job", 2, file));
  auto other = Store::open(tmp.path() / "other").value();
  auto imported = other.import_checkpoint(file, "job");
  ASSERT_TRUE(imported) << imported.error().message;
  EXPECT_EQ(imported->id, 1U);
  EXPECT_EQ(imported->imported_from, "job/2");
  ASSERT_TRUE(other.materialize("job", 1, tmp.path() / "out"));
  EXPECT_EQ(slurp(tmp.path() / "out/pages-1.img"),
            slurp(tmp.path() / "dump2/pages-1.img"));
  // Importing again deduplicates against what is there.
  auto again = other.import_checkpoint(file, "copy");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->stored_bytes, 0U);
}

TEST_F(IntegrityFixture, RefusesADamagedExportFileAndStoresNothing) {
  mem.fill(k_base, 32, rng);
  ingest(store);
  auto file = tmp.path() / "ck.stasis";
  ASSERT_TRUE(store.export_checkpoint("job", 1, file));
  flip_byte(file, fs::file_size(file) / 2);
  auto other = Store::open(tmp.path() / "other").value();
  auto r = other.import_checkpoint(file, "job");
  ASSERT_FALSE(r);
  EXPECT_TRUE(other.jobs()->empty());
  EXPECT_TRUE(packs(other).empty());
}

TEST_F(IntegrityFixture, PruneKeepsPinnedAndNewestAndDryRunDeletesNothing) {
  mem.fill(k_base, 8, rng);
  for (int i = 0; i < 5; ++i) {
    mem.pages[k_base] = FakeMemory::random_page(rng);
    ingest(store);
  }
  ASSERT_TRUE(store.set_pinned("job", 2, true));
  stasis::policy::RetentionRules rules;
  rules.keep_last = 1;
  auto dry = store.prune("job", rules, true);
  ASSERT_TRUE(dry) << dry.error().message;
  EXPECT_TRUE(dry->deleted.empty());
  EXPECT_EQ(store.list("job")->size(), 5U);
  auto r = store.prune("job", rules, false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->deleted, (std::vector<std::uint64_t>{1, 3, 4}));
  std::vector<std::uint64_t> left;
  auto listed = store.list("job");
  ASSERT_TRUE(listed);
  for (const auto& c : *listed) {
    left.push_back(c.id);
  }
  EXPECT_EQ(left, (std::vector<std::uint64_t>{2, 5}));
  EXPECT_TRUE(store.verify()->ok());
}

TEST_F(IntegrityFixture, ReportsLogicalAndStoredBytesPerJob) {
  mem.fill(k_base, 64, rng);
  ingest(store);
  ingest(store);
  auto u = store.usage();
  ASSERT_TRUE(u);
  ASSERT_EQ(u->jobs.size(), 1U);
  EXPECT_EQ(u->jobs[0].checkpoints, 2U);
  EXPECT_GT(u->jobs[0].dedup_ratio(), 1.9);
}
