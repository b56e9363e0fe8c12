// Hooks per action run in CRIU's order, on checkpoint and on restore. The
// workload has a network namespace of its own, so CRIU locks its network and
// restores namespaces: every action happens. Policy: examples/flags/hooks-order.yaml.
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/ns_example_support.hpp"

namespace stasis::test {
namespace {

using namespace std::chrono_literals;
using Lines = std::vector<std::string>;

class AJobsHooks : public DaemonTest {};

TEST_F(AJobsHooks, RunInCriusOrderForEachAction) {
  auto workload = start_in_new_network_namespace("stasis-wl-counter", dir() / "service");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  const auto order = dir() / "order.log";
  install_flag_example(policy_dir(), "hooks-order",
                       {{"/run/stasis-examples/hooks-order.pid",
                         write_pidfile("hooks-order", workload.pid()).string()},
                        {"/run/stasis-examples/hooks-order.log", order.string()}});
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  auto checkpoint = [&](bool leave_running) {
    manager::CheckpointOptions options;
    options.leave_running = leave_running;
    auto run = client->checkpoint("hooks-order", options);
    EXPECT_TRUE(run) << run.error().message;
    auto info = wait_run(*client, run ? *run : "");
    EXPECT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();
    auto lines = read_lines(order);
    std::filesystem::remove(order);
    return lines;
  };

  // Left running: the network is unlocked again at the end of the dump.
  EXPECT_EQ(checkpoint(true),
            (Lines{"pre-dump", "network-lock", "post-dump", "network-unlock"}));
  // Killed: the network stays locked until the restore.
  EXPECT_EQ(checkpoint(false), (Lines{"pre-dump", "network-lock", "post-dump"}));
  workload.reap_after_dump();

  auto restore = client->restore("hooks-order", "", {});
  ASSERT_TRUE(restore) << restore.error().message;
  auto restored = wait_run(*client, *restore);
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                          << log();
  EXPECT_EQ(read_lines(order),
            (Lines{"pre-restore", "setup-namespaces", "post-setup-namespaces",
                   "post-restore", "network-unlock", "pre-resume", "post-resume"}));
  workload.adopt(restored.pid);
  EXPECT_EQ(workload.verify(), "");
}

} // namespace
} // namespace stasis::test
