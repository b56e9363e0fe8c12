// Lazy restores from a real registry at the library level (remote::LazyPull):
// the restore dir written from Range requests, the fill storing the
// checkpoint, and the bounds on what is read before the tree starts.
#include "tests/e2e/remote_e2e_support.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace stasis::remote::e2e {
namespace {

constexpr std::size_t k_pages = 4096; // 16 MiB of random memory

class ALazyPullFromARegistry : public RemoteE2e {};

// Every image of the restore dir of a lazy restore: name -> content.
std::map<std::string, std::string> read_dir(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    out[e.path().filename().string()] = std::string((std::istreambuf_iterator<char>(in)),
                                                    std::istreambuf_iterator<char>());
  }
  return out;
}

TEST_F(ALazyPullFromARegistry,
       WritesTheRestoreDirByRangeRequestsThenStoresTheCheckpoint) {
  auto a = open_store("a");
  auto b = open_store("b");
  auto id = checkpoint(a, "svc", memory(k_pages, 7));
  auto pushed = push_checkpoint(a, "svc", id, ref("fleet/svc"), options(), "hosta");
  ASSERT_TRUE(pushed) << pushed.error().message;

  auto pull = LazyPull::open(ref("fleet/svc", "svc-latest"), options(), tmp() / "cache");
  ASSERT_TRUE(pull) << pull.error().message;
  auto source = (*pull)->take_source();
  // These synthetic pages are not marked lazy: all of them go into the
  // restore dir, read by Range requests before any bundle is downloaded.
  ASSERT_TRUE(source->write_images(tmp() / "restore"));
  // Every image as stored but the pagemap, which a lazy restore rewrites.
  auto written = read_dir(tmp() / "restore");
  auto original = files(a, "svc", id);
  EXPECT_EQ(written.erase("pagemap-1.img"), 1U);
  original.erase("pagemap-1.img");
  EXPECT_EQ(written, original);
  EXPECT_FALSE(fs::exists(tmp() / "cache")) << "no bundle was downloaded whole yet";

  auto stored = (*pull)->fill(b, "restored");
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_NE(stored->imported_from.find(pushed->manifest_digest), std::string::npos);
  EXPECT_EQ(files(b, "restored", stored->id), files(a, "svc", id));
  ASSERT_TRUE(source->checked());
  pull->reset();
  source.reset();
  EXPECT_FALSE(fs::exists(tmp() / "cache")) << "the cache goes with the restore";
}

TEST_F(ALazyPullFromARegistry, RefusesACheckpointWhoseSmallImagesPassTheBound) {
  auto a = open_store("a");
  auto dir = tmp() / "images";
  store::testing::write_images(dir, memory(16, 3));
  {
    // A core image of zeros just over the bound (cheap to store and push:
    // zero chunks are not kept).
    const int fd =
        ::open((dir / "core-2.img").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(k_max_lazy_small_image_bytes + 4096)),
              0);
    ::close(fd);
  }
  auto s = a.ingest("big", dir, {});
  ASSERT_TRUE(s) << s.error().message;
  auto pushed = push_checkpoint(a, "big", s->id, ref("fleet/big"), options(), "hosta");
  ASSERT_TRUE(pushed) << pushed.error().message;

  auto pull = LazyPull::open(ref("fleet/big", "big-latest"), options(), tmp() / "cache");
  ASSERT_FALSE(pull);
  EXPECT_NE(pull.error().message.find("more than a lazy restore takes"),
            std::string::npos)
      << pull.error().message;
}

} // namespace
} // namespace stasis::remote::e2e
