// The engine against the real CRIU: every workload is dumped and restored
// through CriuClient and carries on where it stopped, verifying itself.
#include "tests/e2e/engine_e2e_fixture.hpp"

namespace stasis::engine::e2e {
namespace {

struct WorkloadCase {
  const char* name;
  std::vector<std::string> args;
};

class AnyWorkloadThroughTheEngine : public EngineE2e,
                                    public ::testing::WithParamInterface<WorkloadCase> {};

TEST_P(AnyWorkloadThroughTheEngine, ContinuesWhereItStoppedAfterDumpAndRestore) {
  auto wl = start(GetParam().name, GetParam().args);
  ASSERT_TRUE(wl.wait_for_ticks(3, 5s));
  ASSERT_EQ(wl.verify(), "");
  wl.step();
  const pid_t pid = wl.pid();

  auto dumped = client().dump(dump_options(wl));
  ASSERT_TRUE(dumped) << dumped.error().message();
  const std::uint64_t ticks_at_dump = wl.ticks();
  EXPECT_GT(dumped->stats.frozen_time.count(), 0);
  EXPECT_GT(dumped->stats.pages_written, 0u);
  EXPECT_TRUE(std::filesystem::exists(dumped->log_file));
  wl.reap_after_dump();

  auto restored = client().restore(restore_options());
  ASSERT_TRUE(restored) << restored.error().message();
  EXPECT_EQ(restored->pid, pid);
  EXPECT_GT(restored->stats.restore_time.count(), 0);
  wl.adopt(restored->pid);

  // The status file is rewritten by the restored process: its tick count goes
  // on from the dumped one (no reset, no gap) and its state verifies.
  ASSERT_TRUE(wl.wait_for_ticks(ticks_at_dump + 2, 5s))
      << "ticks stuck at " << wl.ticks();
  EXPECT_EQ(wl.verify(), "");
  wl.step();
  EXPECT_EQ(wl.verify(), "");
  EXPECT_EQ(wl.status_number("pid"), static_cast<std::uint64_t>(pid));
}

INSTANTIATE_TEST_SUITE_P(
    Workloads, AnyWorkloadThroughTheEngine,
    ::testing::Values(WorkloadCase{"stasis-wl-counter", {"--interval-ms", "10"}},
                      WorkloadCase{"stasis-wl-memory", {"--bytes", "4M"}},
                      WorkloadCase{"stasis-wl-threads", {}},
                      WorkloadCase{"stasis-wl-pipe", {}}),
    [](const ::testing::TestParamInfo<WorkloadCase>& param_info) {
      return std::string(param_info.param.name).substr(std::string("stasis-wl-").size());
    });

using TheEngine = EngineE2e;

TEST_F(TheEngine, LeavesTheTargetRunningWhenAsked) {
  auto wl = start("stasis-wl-counter", {"--interval-ms", "10"});
  ASSERT_TRUE(wl.wait_for_ticks(3, 5s));
  auto options = dump_options(wl);
  options.leave_running = true;
  auto dumped = client().dump(options);
  ASSERT_TRUE(dumped) << dumped.error().message();
  const auto ticks = wl.ticks();
  ASSERT_TRUE(wl.wait_for_ticks(ticks + 3, 5s)) << "the target stopped after the dump";
  EXPECT_TRUE(wl.alive());
  EXPECT_EQ(wl.verify(), "");
}

TEST_F(TheEngine, RefusesToRestoreOverAPidThatIsStillTaken) {
  auto wl = start("stasis-wl-counter");
  ASSERT_TRUE(wl.wait_for_ticks(2, 5s));
  auto options = dump_options(wl);
  options.leave_running = true;
  ASSERT_TRUE(client().dump(options));

  auto restored = client().restore(restore_options());
  ASSERT_FALSE(restored);
  const auto message = restored.error().message();
  EXPECT_EQ(restored.error().kind, ErrorKind::Criu) << message;
  EXPECT_EQ(message.rfind(
                "restore from " + (m_dir.path() / "images").string() + " failed: ", 0),
            0u)
      << message;
  EXPECT_NE(message.find(fmt::format("pid {} of the dumped tree is taken", wl.pid())),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("(see "), std::string::npos) << message;
  // The original keeps running, untouched.
  EXPECT_TRUE(wl.alive());
  EXPECT_EQ(wl.verify(), "");
}

} // namespace
} // namespace stasis::engine::e2e
