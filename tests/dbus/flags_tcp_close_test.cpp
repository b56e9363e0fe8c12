// CRIU --tcp-close on one side or both through stasisd, as CRIU's zdtm tests
// socket-dump-tcp-close (dump and restore) and socket-tcp-close0 (dumped with
// --tcp-established, restored with --tcp-close) use it: policies
// examples/flags/tcp-close.yaml and tcp-restore-closed.yaml, the per-restore
// `stasisctl restore --tcp-close`, workload stasis-wl-tcp (server and client
// with one connection) inside a network namespace made by the test.
#include "tests/dbus/flags_support.hpp"

#include <charconv>

namespace stasis::test {
namespace {

class ATcpCloseJob : public FlagsTest {
protected:
  // Starts the TCP pair in `netns`, checked, with its pid in <name>.pid.
  Workload start_pair(const NetnsScope& netns, const std::string& name,
                      std::filesystem::path& pidfile) {
    auto workload =
        Workload::start("stasis-wl-tcp", {"--netns", netns.path()}, dir() / name);
    EXPECT_EQ(workload.verify(), "");
    pidfile = write_pidfile(name, workload.pid());
    return workload;
  }

  // The restored tree runs, and its connection is closed: the next round trip
  // fails instead of carrying data.
  static void expect_running_with_connection_closed(Workload& workload) {
    EXPECT_TRUE(workload.alive());
    EXPECT_NE(workload.verify().find("the connection broke"), std::string::npos);
    EXPECT_TRUE(workload.alive());
  }
};

TEST_F(ATcpCloseJob, DumpsAProcessWithAConnectedSocketAndRestoresItClosed) {
  NetnsScope netns;
  std::filesystem::path pidfile;
  auto workload = start_pair(netns, "tcp-close", pidfile);
  install_example("tcp-close", {{"/run/stasis-examples/tcp-close.pid", pidfile}});
  start_daemon();

  auto dumped = checkpoint("tcp-close");
  ASSERT_EQ(dumped.state, manager::RunState::Succeeded) << dumped.error << "\n" << log();
  workload.reap_after_dump();
  auto restored = restore("tcp-close");
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  workload.adopt(restored.pid);
  expect_running_with_connection_closed(workload);
}

TEST_F(ATcpCloseJob, RestoresASavedConnectionClosedWhenOnlyTheRestoreSideSaysSo) {
  NetnsScope netns;
  std::filesystem::path pidfile;
  auto workload = start_pair(netns, "tcp-restore-closed", pidfile);
  install_example("tcp-restore-closed",
                  {{"/run/stasis-examples/tcp-restore-closed.pid", pidfile}});
  start_daemon();

  auto dumped = checkpoint("tcp-restore-closed");
  ASSERT_EQ(dumped.state, manager::RunState::Succeeded) << dumped.error << "\n" << log();
  workload.reap_after_dump();
  auto restored = restore("tcp-restore-closed");
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  workload.adopt(restored.pid);
  expect_running_with_connection_closed(workload);
}

TEST_F(ATcpCloseJob, ClosesTheConnectionsOfOneRestoreAskedWithStasisctl) {
  NetnsScope netns;
  std::filesystem::path pidfile;
  auto workload = start_pair(netns, "tcp-established", pidfile);
  install_example("tcp-established",
                  {{"/run/stasis-examples/tcp-established.pid", pidfile}});
  start_daemon();

  auto dumped = checkpoint("tcp-established");
  ASSERT_EQ(dumped.state, manager::RunState::Succeeded) << dumped.error << "\n" << log();
  workload.reap_after_dump();
  const auto restored = stasisctl({"restore", "tcp-established", "--tcp-close"});
  ASSERT_EQ(restored.exit_code, 0) << restored.out << restored.err << "\n" << log();
  pid_t pid = 0;
  const auto text = restored.out.substr(0, restored.out.find_first_of(" \n"));
  std::from_chars(text.data(), text.data() + text.size(), pid);
  ASSERT_GT(pid, 0) << restored.out;
  workload.adopt(pid);
  expect_running_with_connection_closed(workload);
}

} // namespace
} // namespace stasis::test
