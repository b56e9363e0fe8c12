// CRIU --tcp-established through stasisd: policy
// examples/flags/tcp-established.yaml, workload stasis-wl-tcp (server and
// client with one connection) inside a network namespace made by the test.
#include "tests/dbus/flags_support.hpp"

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

class ATcpEstablishedJob : public FlagsTest {};

TEST_F(ATcpEstablishedJob,
       KeepsItsConnectionAcrossARestoreAndNamesTheKeyWhenItIsMissing) {
  NetnsScope netns;
  auto workload =
      Workload::start("stasis-wl-tcp", {"--netns", netns.path()}, dir() / "wl");
  ASSERT_EQ(workload.verify(), "");
  const auto pidfile = write_pidfile("tcp", workload.pid());
  install_example("tcp-established",
                  {{"/run/stasis-examples/tcp-established.pid", pidfile}});
  install_job("unset.yaml", pidfile_job("tcp-unset", pidfile));
  start_daemon();

  auto refused = checkpoint("tcp-unset");
  EXPECT_EQ(refused.state, manager::RunState::Failed);
  EXPECT_NE(refused.error.find("set `criu.tcp-established: true` (to keep them) or "
                               "`criu.tcp-close: true`"),
            std::string::npos)
      << refused.error;
  EXPECT_NE(refused.error.find("in the policy of job 'tcp-unset'"), std::string::npos)
      << refused.error;
  EXPECT_EQ(workload.verify(), "");

  auto dumped = checkpoint("tcp-established");
  ASSERT_EQ(dumped.state, manager::RunState::Succeeded) << dumped.error << "\n" << log();
  const auto before = workload.status_number("round_trips");
  workload.reap_after_dump();
  auto restored = restore("tcp-established");
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  workload.adopt(restored.pid);
  // The same connection carries on: more round trips, every echo right.
  EXPECT_EQ(workload.verify(), "");
  EXPECT_GT(workload.status_number("round_trips"), before);
}

} // namespace
} // namespace stasis::test
