// How the container runtimes take a job's policy keys: runtime flags, the
// per-run CRIU configuration file, or a refusal naming the key (checked before
// any runtime command runs, so no container is needed here).
#include "manager/container_support.hpp"

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

::testing::AssertionResult has(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "'" << part << "' is not in: " << text;
}

policy::Job job_with(policy::Target target) {
  policy::Job job;
  job.name = "box";
  job.target = std::move(target);
  return job;
}

std::string refusal(const policy::Job& job) {
  auto checked = make_container_runtime(job.target)->check(job);
  return checked ? "" : checked.error().message;
}

const policy::Target k_runc = policy::RuncTarget{"web", "/run/runc", "/srv/web"};
const policy::Target k_lxc = policy::LxcTarget{"box", "/var/lib/lxc", ""};
const policy::Target k_podman = policy::PodmanTarget{"redis"};

TEST(AContainerRuntime, TakesTheDefaultsOfEveryRuntime) {
  for (const auto& target : {k_runc, k_lxc, k_podman}) {
    EXPECT_EQ(refusal(job_with(target)), "") << policy::describe(target);
  }
}

TEST(AContainerRuntime, TakesTheFlagsEachRuntimeHas) {
  auto runc = job_with(k_runc);
  runc.criu.shell_job = runc.criu.file_locks = runc.criu.tcp_established = true;
  runc.criu.ext_unix_sk = true;
  runc.criu.empty_ns = {"net"};
  runc.criu.manage_cgroups = policy::CgroupMode::Strict;
  runc.restore.lsm_profile = "apparmor:x";
  EXPECT_EQ(refusal(runc), "");
  auto lxc = job_with(k_lxc);
  lxc.criu.tcp_established = lxc.criu.file_locks = true;
  lxc.criu.manage_cgroups = policy::CgroupMode::Full;
  lxc.restore.mntns_compat_mode = true;
  EXPECT_EQ(refusal(lxc), "");
  auto podman = job_with(k_podman);
  podman.criu.tcp_established = podman.criu.file_locks = true;
  podman.criu.network_lock = policy::NetworkLock::Iptables;
  EXPECT_EQ(refusal(podman), "");
}

TEST(AContainerRuntime, RefusesKeysTheRuntimeCannotTakeNamingThem) {
  auto runc = job_with(k_runc);
  runc.restore.root = "/srv/web/rootfs";
  EXPECT_TRUE(has(refusal(runc), "restore.root"));
  auto runc_cgroups = job_with(k_runc);
  runc_cgroups.criu.manage_cgroups = policy::CgroupMode::Props;
  EXPECT_TRUE(has(refusal(runc_cgroups), "criu.manage-cgroups"));
  auto lxc = job_with(k_lxc);
  lxc.criu.shell_job = true;
  EXPECT_TRUE(has(refusal(lxc), "criu.shell-job"));
  auto lxc_cgroups = job_with(k_lxc);
  lxc_cgroups.criu.manage_cgroups = policy::CgroupMode::Strict;
  EXPECT_TRUE(has(refusal(lxc_cgroups), "criu.manage-cgroups: full"));
  auto podman = job_with(k_podman);
  podman.criu.ghost_limit = 8 << 20;
  EXPECT_TRUE(has(refusal(podman), "criu.ghost-limit"));
  auto podman_lock = job_with(k_podman);
  podman_lock.criu.network_lock = policy::NetworkLock::Skip;
  EXPECT_TRUE(has(refusal(podman_lock), "criu.network-lock skip"));
  auto pre_dump = job_with(k_runc);
  pre_dump.incremental.mode = policy::IncrementalSettings::Mode::CriuPreDump;
  EXPECT_TRUE(has(refusal(pre_dump), "criu-pre-dump"));
}

TEST(AContainerRuntime, RefusesHooksAtCriuStepsButNotRunOutcomeHooks) {
  auto job = job_with(k_lxc);
  policy::HookCommand command;
  command.argv = {"/bin/true"};
  job.hooks.commands[policy::HookPoint::OnSuccess] = {command};
  EXPECT_EQ(refusal(job), "");
  job.hooks.commands[policy::HookPoint::NetworkLock] = {command};
  EXPECT_TRUE(has(refusal(job), "hooks.network-lock"));
}

TEST(AContainerCriuConfig, CarriesTheNetworkLockAndKeysWithoutARuntimeFlag) {
  auto job = job_with(k_runc);
  EXPECT_TRUE(has(criu_config_text(job, false), "network-lock nftables\n"));
  job.criu.network_lock = policy::NetworkLock::Iptables;
  job.criu.ghost_limit = 4 << 20;
  job.criu.link_remap = true;
  job.criu.skip_mnt = {"/proc/sys"};
  job.restore.weak_sysctls = true;
  const auto dump = criu_config_text(job, false);
  EXPECT_TRUE(has(dump, "network-lock iptables\n"));
  EXPECT_TRUE(has(dump, "ghost-limit 4194304\n"));
  EXPECT_TRUE(has(dump, "link-remap\n"));
  EXPECT_TRUE(has(dump, "skip-mnt /proc/sys\n"));
  EXPECT_FALSE(has(dump, "weak-sysctls"));
  EXPECT_TRUE(has(criu_config_text(job, true), "weak-sysctls\n"));
}

} // namespace
} // namespace stasis::manager
