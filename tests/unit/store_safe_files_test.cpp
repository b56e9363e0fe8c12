// The files the store writes and reads as root: materialized images are plain
// 0644 files in a 0755 dir whatever a manifest says, written where they were
// asked for and nowhere else; ingest takes regular files only; manifests name
// no file outside the images dir; a damaged manifest spoils only itself.
#include "store/run_dirs.hpp"
#include "store/store.hpp"
#include "tests/unit/store_export_builder.hpp"
#include "tests/unit/store_test_images.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

using namespace stasis::store;
using namespace stasis::store::testing;

namespace {

constexpr std::uint64_t k_base = 0x7f0000000000;

struct SafeFilesFixture : ::testing::Test {
  ScratchDir tmp;
  Store store = Store::open(tmp.path() / "state").value();
  std::mt19937_64 rng{11};
  FakeMemory mem;

  fs::path dump(const std::string& name = "dump") {
    if (mem.pages.empty()) {
      mem.fill(k_base, 8, rng);
    }
    auto dir = tmp.path() / name;
    write_images(dir, mem);
    return dir;
  }
  unsigned mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
};

Manifest with_file_named(const std::string& name) {
  Manifest m = plain_manifest();
  m.files.push_back({name, 0644, 0, {}});
  return m;
}

} // namespace

TEST(AManifest, NamesNoFileOutsideItsImagesDir) {
  const std::vector<std::string> names = {"../escape.img",
                                          "/etc/passwd",
                                          "a/b.img",
                                          ".",
                                          "..",
                                          std::string("nul\0byte", 8),
                                          std::string(256, 'n')};
  for (const auto& name : names) {
    auto parsed = manifest_from_json(manifest_to_json(with_file_named(name)));
    EXPECT_FALSE(parsed) << "accepted a file named '" << name << "'";
  }
  EXPECT_TRUE(
      manifest_from_json(manifest_to_json(with_file_named(std::string(255, 'n')))));
}

TEST_F(SafeFilesFixture, MaterializesPlainFilesWhateverModesTheManifestGives) {
  ExportBuilder b;
  Manifest m = plain_manifest();
  unsigned modes[] = {04755, 02755, 01777, 0666, 0777};
  for (unsigned mode : modes) {
    std::string content = "content of mode " + std::to_string(mode);
    auto chunk = b.blob(content);
    auto list = b.list({{chunk, static_cast<std::uint32_t>(content.size())}});
    m.files.push_back(
        {"f" + std::to_string(mode) + ".img", mode, content.size(), {list}});
    m.logical_bytes += content.size();
  }
  b.manifest(m);
  b.write(tmp.path() / "in.stasis");
  auto imported = store.import_checkpoint(tmp.path() / "in.stasis", "job");
  ASSERT_TRUE(imported) << imported.error().message;
  auto out = tmp.path() / "out";
  ASSERT_TRUE(store.materialize("job", imported->id, out));
  EXPECT_EQ(mode_of(out), 0755U);
  for (unsigned mode : modes) {
    auto file = out / ("f" + std::to_string(mode) + ".img");
    EXPECT_EQ(mode_of(file), 0644U) << file;
  }
}

TEST_F(SafeFilesFixture, DoesNotMaterializeThroughASymlinkedDirectory) {
  ASSERT_TRUE(store.ingest("job", dump(), {}));
  auto elsewhere = tmp.path() / "elsewhere";
  fs::create_directories(elsewhere);
  fs::create_symlink(elsewhere, tmp.path() / "out");
  auto r = store.materialize("job", 1, tmp.path() / "out");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("symbolic link"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(fs::is_empty(elsewhere));
}

TEST_F(SafeFilesFixture, RefusesAnImagesDirHoldingASymlinkAFifoOrAHardLink) {
  auto secret = tmp.path() / "secret";
  ASSERT_TRUE(atomic_write_file(secret, "root's secret"));
  auto dir = dump();
  fs::create_symlink(secret, dir / "core-2.img");
  ASSERT_EQ(::mkfifo((dir / "fdinfo-2.img").c_str(), 0600), 0);
  fs::create_hard_link(dir / "core-1.img", dir / "mm-1.img");
  auto r = store.ingest("job", dir, {});
  ASSERT_FALSE(r) << "stored the dir";
  for (const char* name : {"core-2.img", "fdinfo-2.img", "mm-1.img"}) {
    EXPECT_NE(r.error().message.find(name), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(store.jobs()->empty());
}

TEST_F(SafeFilesFixture, DoesNotIngestThroughASymlinkedImagesDir) {
  auto dir = dump();
  fs::create_symlink(dir, tmp.path() / "link");
  auto r = store.ingest("job", tmp.path() / "link", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("symbolic link"), std::string::npos)
      << r.error().message;
}

TEST_F(SafeFilesFixture, ListsTheOtherCheckpointsWhenOneManifestIsDamaged) {
  auto dir = dump();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store.ingest("job", dir, {}));
  }
  ASSERT_TRUE(atomic_write_file(store.root() / "jobs/job/2.json", "{\"format\": 1"));
  auto list = store.list("job");
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 3U);
  EXPECT_EQ((*list)[1].id, 2U);
  auto usage = store.usage();
  ASSERT_TRUE(usage) << usage.error().message;
  EXPECT_EQ(usage->jobs.at(0).checkpoints, 3U);
  // The next checkpoint is stored although the newest but one is damaged.
  ASSERT_TRUE(atomic_write_file(store.root() / "jobs/job/3.json", "garbage"));
  auto next = store.ingest("job", dir, {});
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->id, 4U);
}

// A daemon killed mid-checkpoint leaves its run's dirs behind; fsck (with no
// daemon on the state dir) removes them without following symlinks in them.
TEST_F(SafeFilesFixture, FsckRemovesTheRunDirsOfAKilledDaemonButNothingTheyLinkTo) {
  auto outside = tmp.path() / "outside";
  fs::create_directories(outside);
  ASSERT_TRUE(atomic_write_file(outside / "keep.img", "not the store's"));
  auto run = store.root() / "work/20240101-000000-1";
  fs::create_directories(run / "images");
  ASSERT_TRUE(atomic_write_file(run / "images/pages-1.img", std::string(8192, 'p')));
  fs::create_symlink(outside, run / "images/link");
  fs::create_symlink(outside / "keep.img", run / "images/file-link");
  fs::create_directories(store.root() / "logs/20240101-000000-1");
  ASSERT_TRUE(atomic_write_file(store.root() / "logs/20240101-000000-1/dump.log", "log"));
  auto report = store.fsck();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(fs::exists(run));
  EXPECT_FALSE(fs::exists(store.root() / "logs/20240101-000000-1"));
  EXPECT_EQ(slurp(outside / "keep.img"), "not the store's");
  EXPECT_TRUE(fs::exists(store.root() / "work"));
}

// While a daemon holds the state dir its runs are in flight: fsck leaves
// their dirs alone, and a second daemon is refused naming the first.
TEST_F(SafeFilesFixture, FsckLeavesRunDirsAloneWhileADaemonHoldsTheStateDir) {
  auto lease = DaemonLease::acquire(store.root());
  ASSERT_TRUE(lease) << lease.error().message;
  auto second = DaemonLease::acquire(store.root());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("pid " + std::to_string(::getpid())),
            std::string::npos)
      << second.error().message;
  auto run = store.root() / "work/20240101-000000-2";
  fs::create_directories(run / "images");
  auto report = store.fsck();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->runs_in_flight, 1U);
  EXPECT_EQ(report->leftover_runs_removed, 0U);
  EXPECT_TRUE(fs::exists(run / "images"));
}

TEST_F(SafeFilesFixture, RemovesNoTreeNestedDeeperThanTheLimit) {
  auto top = tmp.path() / "deep";
  auto path = top;
  for (int i = 0; i <= k_max_remove_depth; ++i) {
    path /= "d";
  }
  fs::create_directories(path);
  auto removed = remove_tree(top);
  ASSERT_FALSE(removed);
  EXPECT_NE(removed.error().message.find(std::to_string(k_max_remove_depth)),
            std::string::npos)
      << removed.error().message;
  auto shallow = tmp.path() / "shallow";
  fs::create_directories(shallow / "a/b/c");
  ASSERT_TRUE(atomic_write_file(shallow / "a/b/c/f", "x"));
  ASSERT_TRUE(remove_tree(shallow));
  EXPECT_FALSE(fs::exists(shallow));
}
