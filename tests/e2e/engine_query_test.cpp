// Version, kernel check and features from the real CRIU, and the pre-dump
// refusal on a kernel without soft-dirty tracking.
#include "tests/e2e/engine_e2e_fixture.hpp"

namespace stasis::engine::e2e {
namespace {

using TheEngineQueries = EngineE2e;

TEST_F(TheEngineQueries, ReportCriusVersion) {
  auto version = client().version();
  ASSERT_TRUE(version) << version.error().message();
  EXPECT_EQ(version->rfind("4.", 0), 0u) << *version;
  EXPECT_EQ(std::count(version->begin(), version->end(), '.'), 2) << *version;
}

TEST_F(TheEngineQueries, PassCriusKernelCheck) {
  auto checked = client().check();
  EXPECT_TRUE(checked) << checked.error().message();
}

TEST_F(TheEngineQueries, ReportMissingMemoryTrackingWithAReason) {
  auto features = client().features();
  ASSERT_TRUE(features) << features.error().message();
  // This machine's kernel has soft-dirty tracking off (see HELPERS.md).
  EXPECT_FALSE(features->mem_track);
  EXPECT_NE(features->mem_track_reason.find("soft-dirty"), std::string::npos);
  EXPECT_TRUE(features->lazy_pages);
}

TEST_F(TheEngineQueries, RefuseAPreDumpWithoutMemoryTracking) {
  auto wl = start("stasis-wl-counter");
  ASSERT_TRUE(wl.wait_for_ticks(2, 5s));
  auto predumped = client().pre_dump(dump_options(wl));
  ASSERT_FALSE(predumped);
  EXPECT_EQ(predumped.error().kind, ErrorKind::Unsupported);
  EXPECT_NE(predumped.error().message().find(fmt::format(
                "pre-dump of pid {} failed: a pre-dump needs memory tracking", wl.pid())),
            std::string::npos)
      << predumped.error().message();
  EXPECT_FALSE(std::filesystem::exists(m_dir.path() / "images" / "pre-dump.log"));
  EXPECT_TRUE(wl.alive());
  EXPECT_EQ(wl.verify(), "");
}

} // namespace
} // namespace stasis::engine::e2e
