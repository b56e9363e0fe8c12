#include "manager/criu_mapping.hpp"

#include <sched.h>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

TEST(ACriuMapping, CarriesTheDumpSettingsOver) {
  policy::CriuSettings criu;
  criu.shell_job = true;
  criu.tcp_established = true;
  criu.leave_running = true;
  criu.ghost_limit = 4 << 20;
  criu.external_unix_sockets = {{"/run/x.sock"}};
  criu.ext_mount_map = {{"/data", "data"}};
  criu.cpu_cap = "all";
  criu.network_lock = policy::NetworkLock::Skip;
  criu.log_level = 2;
  auto dump = to_dump_options(criu);
  EXPECT_TRUE(dump.shell_job);
  EXPECT_TRUE(dump.tcp_established);
  EXPECT_TRUE(dump.leave_running);
  EXPECT_EQ(dump.ghost_limit, 4u << 20);
  // Paths of external unix sockets become inodes at dump time, not here.
  EXPECT_TRUE(dump.external.empty());
  ASSERT_EQ(dump.ext_mount_map.size(), 1u);
  EXPECT_EQ(dump.ext_mount_map.front().value, "data");
  EXPECT_EQ(dump.cpu_cap, engine::cpu_cap::all);
  EXPECT_EQ(dump.network_lock, engine::NetworkLock::Skip);
  EXPECT_EQ(dump.log_level, 2);
}

TEST(ACriuMapping, KeepsSoftCgroupsSoRestoredTreesLeaveTheDaemonsCgroup) {
  auto dump = to_dump_options({});
  EXPECT_TRUE(dump.manage_cgroups);
  EXPECT_EQ(dump.manage_cgroups_mode, engine::CgroupMode::Soft);
  auto restore = to_restore_options({}, {});
  EXPECT_EQ(restore.manage_cgroups_mode, engine::CgroupMode::Soft);
  EXPECT_TRUE(restore.restore_detached);
}

TEST(ACriuMapping, SharesTheDumpsSettingsWithTheRestore) {
  policy::CriuSettings criu;
  criu.file_locks = true;
  criu.ext_unix_sk = true;
  criu.empty_ns = {"net"};
  criu.veth_pairs = {{"eth0", "veth-web"}};
  policy::RestoreSettings restore;
  restore.detached = false;
  restore.cgroup_root = {"cpu:/a", "/b"};
  restore.cpu_cap = {"fpu", "ins"};
  auto options = to_restore_options(criu, restore);
  EXPECT_TRUE(options.file_locks);
  EXPECT_TRUE(options.ext_unix_sk);
  EXPECT_EQ(options.empty_ns, static_cast<std::uint32_t>(CLONE_NEWNET));
  ASSERT_EQ(options.veths.size(), 1u);
  EXPECT_EQ(options.veths.front().outside, "veth-web");
  EXPECT_FALSE(options.restore_detached);
  ASSERT_EQ(options.cgroup_roots.size(), 2u);
  EXPECT_EQ(options.cgroup_roots[0].controller, "cpu");
  EXPECT_EQ(options.cgroup_roots[1].path, "/b");
  EXPECT_EQ(options.cpu_cap, engine::cpu_cap::fpu | engine::cpu_cap::ins);
}

} // namespace
} // namespace stasis::manager
