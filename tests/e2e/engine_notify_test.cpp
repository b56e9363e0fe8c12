// NOTIFY with the real CRIU: the order of the notifications of a dump and a
// restore, and a refusal that aborts the dump.
#include "tests/e2e/engine_e2e_fixture.hpp"

namespace stasis::engine::e2e {
namespace {

using TheEngineNotifications = EngineE2e;

TEST_F(TheEngineNotifications, ArriveInCriusOrderForADumpAndARestore) {
  auto wl = start("stasis-wl-counter");
  ASSERT_TRUE(wl.wait_for_ticks(2, 5s));
  const pid_t pid = wl.pid();
  std::vector<std::string> seen;
  auto record = [&seen](const NotifyEvent& event) {
    seen.push_back(event.script);
    return NotifyAnswer::ok();
  };
  auto dumped = client().dump(dump_options(wl), record);
  ASSERT_TRUE(dumped) << dumped.error().message();
  EXPECT_EQ(seen, (std::vector<std::string>{"pre-dump", "query-ext-files", "post-dump"}));

  wl.reap_after_dump();
  seen.clear();
  std::vector<pid_t> pids;
  auto restored = client().restore(restore_options(), [&](const NotifyEvent& event) {
    pids.push_back(event.pid);
    return record(event);
  });
  ASSERT_TRUE(restored) << restored.error().message();
  wl.adopt(restored->pid);
  EXPECT_EQ(seen, (std::vector<std::string>{"pre-restore", "post-restore", "pre-resume",
                                            "post-resume"}));
  ASSERT_GE(pids.size(), 2u);
  EXPECT_EQ(pids[1], pid) << "post-restore names the restored root";
  EXPECT_EQ(wl.verify(), "");
}

TEST_F(TheEngineNotifications, AbortTheDumpWhenTheCallbackRefuses) {
  auto wl = start("stasis-wl-counter", {"--interval-ms", "10"});
  ASSERT_TRUE(wl.wait_for_ticks(2, 5s));
  auto dumped = client().dump(dump_options(wl), [](const NotifyEvent& event) {
    return event.script == "post-dump" ? NotifyAnswer::fail("no room in the store")
                                       : NotifyAnswer::ok();
  });
  ASSERT_FALSE(dumped);
  EXPECT_EQ(dumped.error().kind, ErrorKind::NotifyRefused);
  EXPECT_NE(
      dumped.error().message().find("the post-dump callback refused: no room in the "
                                    "store"),
      std::string::npos)
      << dumped.error().message();
  // CRIU resumes a target whose dump was aborted.
  ASSERT_TRUE(wl.alive());
  const auto ticks = wl.ticks();
  EXPECT_TRUE(wl.wait_for_ticks(ticks + 3, 5s));
  EXPECT_EQ(wl.verify(), "");
}

} // namespace
} // namespace stasis::engine::e2e
