// The engine's failures with the real CRIU: bad targets and images give
// errors a user can act on; a killed worker leaves its target running.
#include "engine/target.hpp"
#include "tests/e2e/engine_e2e_fixture.hpp"

#include <fstream>
#include <random>
#include <thread>

namespace stasis::engine::e2e {
namespace {

using TheEngineOnFailure = EngineE2e;

TEST_F(TheEngineOnFailure, SaysThatADumpTargetDoesNotExist) {
  DumpOptions options;
  options.pid = 0x3ffffff; // above any pid_max
  options.images_dir = m_dir.path() / "images";
  auto dumped = client().dump(options);
  ASSERT_FALSE(dumped);
  EXPECT_EQ(dumped.error().message(),
            fmt::format("dump of pid {} failed: no process has pid {}", options.pid,
                        options.pid));
}

TEST_F(TheEngineOnFailure, SaysThatTheImagesDirDoesNotExist) {
  auto restored = client().restore(restore_options("missing"));
  ASSERT_FALSE(restored);
  const auto message = restored.error().message();
  EXPECT_EQ(restored.error().kind, ErrorKind::InvalidOptions);
  EXPECT_NE(
      message.find("restore from " + (m_dir.path() / "missing").string() + " failed"),
      std::string::npos)
      << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
}

TEST_F(TheEngineOnFailure, SaysThatADirectoryHoldsNoDump) {
  std::filesystem::create_directories(m_dir.path() / "empty");
  auto restored = client().restore(restore_options("empty"));
  ASSERT_FALSE(restored);
  EXPECT_NE(
      restored.error().message().find("holds no CRIU dump (inventory.img is missing)"),
      std::string::npos)
      << restored.error().message();
}

TEST_F(TheEngineOnFailure, QuotesCriuWhenTheImagesAreGarbage) {
  const auto images = m_dir.path() / "garbage";
  std::filesystem::create_directories(images);
  for (const char* name : {"inventory.img", "pstree.img", "core-1.img"}) {
    std::ofstream(images / name) << "this is not a CRIU image\n";
  }
  auto restored = client().restore(restore_options("garbage"));
  ASSERT_FALSE(restored);
  const auto message = restored.error().message();
  EXPECT_EQ(restored.error().kind, ErrorKind::Criu) << message;
  EXPECT_NE(message.find("failed: CRIU: "), std::string::npos) << message;
  EXPECT_NE(message.find("(see " + (images / "restore.log").string() + ")"),
            std::string::npos)
      << message;
  EXPECT_FALSE(restored.error().log_errors.empty());
}

// Cancels a dump once CRIU has seized the target (TracerPid set), i.e. while
// it is frozen and CRIU's parasite is copying its memory out.
TEST_F(TheEngineOnFailure, LeavesTheTargetRunningWhenAMemoryDumpIsCancelled) {
  auto wl = start("stasis-wl-memory", {"--bytes", "256M"});
  ASSERT_EQ(wl.verify(30s), "");
  std::stop_source cancel;
  std::jthread watcher([&cancel, pid = wl.pid()](std::stop_token stop) {
    while (!stop.stop_requested()) {
      std::ifstream status(fmt::format("/proc/{}/status", pid));
      std::string line;
      while (std::getline(status, line)) {
        if (line.starts_with("TracerPid:") && line != "TracerPid:\t0") {
          std::this_thread::sleep_for(30ms);
          cancel.request_stop();
          return;
        }
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  RunControl control;
  control.stop = cancel.get_token();
  auto dumped = client().dump(dump_options(wl), {}, control);
  ASSERT_FALSE(dumped) << "the dump finished before it could be cancelled";
  EXPECT_EQ(dumped.error().kind, ErrorKind::Cancelled) << dumped.error().message();
  EXPECT_NE(dumped.error().message().find("cancelled at a safe point: CRIU rolled back"),
            std::string::npos)
      << dumped.error().message();

  ASSERT_TRUE(wl.alive()) << "the target died with its worker";
  EXPECT_NE(process_state(wl.pid()), 'T');
  EXPECT_NE(process_state(wl.pid()), 't');
  const auto ticks = wl.ticks();
  EXPECT_TRUE(wl.wait_for_ticks(ticks + 2, 5s)) << "the target does not run any more";
  EXPECT_EQ(wl.verify(30s), "");
}

// A notify callback that blocks past the deadline: as soon as it returns, its
// notification is refused, CRIU rolls back and the frozen target is let go.
TEST_F(TheEngineOnFailure, LeavesTheTargetRunningWhenADumpTimesOutInACallback) {
  auto wl = start("stasis-wl-counter", {"--interval-ms", "10"});
  ASSERT_TRUE(wl.wait_for_ticks(2, 5s));
  RunControl control;
  control.timeout = 1500ms; // CRIU reaches post-dump within ~0.3 s here
  bool blocked = false;
  auto dumped = client().dump(
      dump_options(wl),
      [&blocked](const NotifyEvent& event) {
        if (event.script == "post-dump") {
          blocked = true;
          std::this_thread::sleep_for(1700ms);
        }
        return NotifyAnswer::ok();
      },
      control);
  ASSERT_FALSE(dumped);
  EXPECT_TRUE(blocked) << "the deadline passed before post-dump";
  EXPECT_EQ(dumped.error().kind, ErrorKind::TimedOut) << dumped.error().message();
  EXPECT_NE(dumped.error().message().find("timed out at a safe point"), std::string::npos)
      << dumped.error().message();
  ASSERT_TRUE(wl.alive()) << "the target died with its worker";
  const auto ticks = wl.ticks();
  EXPECT_TRUE(wl.wait_for_ticks(ticks + 3, 5s)) << "the target does not run any more";
  EXPECT_EQ(wl.verify(), "");
}

// Cancels dumps at random moments, from before CRIU starts to after it is
// done: CRIU is never killed while its parasite may be inside the target, so
// the target survives every one and still checks itself.
TEST_F(TheEngineOnFailure, LeavesTheTargetRunningWhateverMomentADumpIsCancelledAt) {
  // A small tree: seizing and injecting the parasite (where a killed CRIU
  // leaves the target to trap) is most of its dump.
  auto wl = start("stasis-wl-threads", {"--interval-ms", "10"});
  ASSERT_EQ(wl.verify(30s), "");
  auto options = dump_options(wl);
  options.leave_running = true;
  const auto started = std::chrono::steady_clock::now();
  auto whole = client().dump(options);
  ASSERT_TRUE(whole) << whole.error().message();
  const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  const unsigned seed = std::random_device{}();
  std::mt19937 random(seed);
  std::uniform_int_distribution<long> delay_us(0, took.count() * 5 / 4);
  int cancelled = 0;
  for (int i = 0; i < 64; ++i) {
    std::filesystem::remove_all(options.images_dir);
    const auto delay = std::chrono::microseconds(delay_us(random));
    std::stop_source cancel;
    std::jthread canceller([&cancel, delay] {
      std::this_thread::sleep_for(delay);
      cancel.request_stop();
    });
    RunControl control;
    control.stop = cancel.get_token();
    auto dumped = client().dump(options, {}, control);
    canceller.join();
    if (!dumped) {
      ++cancelled;
      EXPECT_EQ(dumped.error().kind, ErrorKind::Cancelled) << dumped.error().message();
    }
    ASSERT_TRUE(wl.alive()) << "the target died after a cancel " << delay.count()
                            << " us into the dump (seed " << seed << ")";
    ASSERT_NE(process_state(wl.pid()), 'T') << "seed " << seed;
    ASSERT_EQ(wl.verify(30s), "") << "after a cancel " << delay.count()
                                  << " us into the dump (seed " << seed << ")";
  }
  EXPECT_GT(cancelled, 0) << "no dump was cancelled (seed " << seed << ")";
}

} // namespace
} // namespace stasis::engine::e2e
