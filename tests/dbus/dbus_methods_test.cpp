// Every io.stasis.Stasis1.Manager method round-trips through the real
// adaptor and the stasisctl Client over a private bus.
#include "tests/dbus/service_fixture.hpp"

#include <unistd.h>

namespace stasis::test {
namespace {

using namespace manager;
using AMethodCall = ServiceFixture;

TEST_F(AMethodCall, ReadsTheVersionProperty) {
  auto version = m_client->version();
  ASSERT_TRUE(version) << version.error().message;
  EXPECT_EQ(*version, "9.8.7");
}

TEST_F(AMethodCall, ListsJobsWithEveryField) {
  auto jobs = m_client->list_jobs();
  ASSERT_TRUE(jobs) << jobs.error().message;
  ASSERT_EQ(jobs->size(), 2u);
  const auto& job = (*jobs)[0];
  EXPECT_EQ(job.name, "web");
  EXPECT_EQ(job.description, "the web app");
  EXPECT_EQ(job.target, "cgroup /sys/fs/cgroup/web");
  EXPECT_EQ(job.schedule, "every 15m");
  EXPECT_EQ(job.next_run, m_manager.job.next_run);
  EXPECT_FALSE(job.last_run.has_value());
  EXPECT_EQ(job.last_result, "succeeded");
  EXPECT_EQ(job.checkpoints, 3u);
  EXPECT_EQ(job.policy_file, "/etc/stasis/policy.d/web.yaml");
  EXPECT_EQ(job.fingerprint, "f00d");
  EXPECT_EQ((*jobs)[1].name, "db");
  EXPECT_EQ(m_manager.last().method, "list_jobs");
}

TEST_F(AMethodCall, GetsOneJobByName) {
  auto job = m_client->get_job("web");
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ(job->name, "web");
  EXPECT_EQ(m_manager.last().job, "web");
}

TEST_F(AMethodCall, StartsACheckpointWithItsOptions) {
  CheckpointOptions options;
  options.leave_running = true;
  auto run = m_client->checkpoint("web", options);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(*run, "run-1");
  const auto last = m_manager.last();
  EXPECT_EQ(last.method, "checkpoint");
  EXPECT_EQ(last.job, "web");
  EXPECT_EQ(last.checkpoint_options.leave_running, std::optional<bool>(true));
  EXPECT_FALSE(last.checkpoint_options.shell_job.has_value());
}

TEST_F(AMethodCall, StartsAnAdHocCheckpointOfAPid) {
  CheckpointOptions options;
  options.leave_running = false;
  options.shell_job = true;
  options.ext_unix_sk = true;
  auto run = m_client->checkpoint_process(1234, options);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(*run, "run-2");
  const auto last = m_manager.last();
  EXPECT_EQ(last.pid, 1234);
  EXPECT_EQ(last.checkpoint_options.leave_running, std::optional<bool>(false));
  EXPECT_EQ(last.checkpoint_options.shell_job, std::optional<bool>(true));
  EXPECT_EQ(last.checkpoint_options.ext_unix_sk, std::optional<bool>(true));
  EXPECT_FALSE(last.checkpoint_options.file_locks.has_value());
}

TEST_F(AMethodCall, StartsARestoreWithItsOptions) {
  RestoreOptions options;
  options.new_pid_namespace = true;
  options.lazy = false;
  auto run = m_client->restore("web", "ckpt-1", options);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(*run, "run-3");
  const auto last = m_manager.last();
  EXPECT_EQ(last.checkpoint, "ckpt-1");
  EXPECT_EQ(last.restore_options.new_pid_namespace, std::optional<bool>(true));
  EXPECT_EQ(last.restore_options.lazy, std::optional<bool>(false));
  EXPECT_FALSE(last.restore_options.detached.has_value());
}

TEST_F(AMethodCall, CancelsARun) {
  ASSERT_TRUE(m_client->cancel_run("run-9"));
  EXPECT_EQ(m_manager.last().method, "cancel_run");
  EXPECT_EQ(m_manager.last().run, "run-9");
}

TEST_F(AMethodCall, GetsARunWithEveryField) {
  auto run = m_client->get_run("run-42");
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->id, "run-42");
  EXPECT_EQ(run->job, "web");
  EXPECT_EQ(run->kind, RunKind::Restore);
  EXPECT_EQ(run->state, RunState::Succeeded);
  EXPECT_EQ(run->checkpoint, "ckpt-1");
  EXPECT_EQ(run->pid, 4242);
  EXPECT_EQ(run->frozen_usec, 1234u);
  EXPECT_EQ(run->logical_bytes, 1ULL << 40);
  EXPECT_EQ(run->stored_bytes, 77u);
  EXPECT_EQ(run->started, m_manager.run.started);
  EXPECT_FALSE(run->finished.has_value());
}

TEST_F(AMethodCall, ListsRunsOfAJobWithALimit) {
  auto runs = m_client->list_runs("web", 5);
  ASSERT_TRUE(runs) << runs.error().message;
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].id, "run-42");
  EXPECT_EQ(m_manager.last().limit, 5u);
}

TEST_F(AMethodCall, ListsCheckpointsWithEveryField) {
  auto checkpoints = m_client->list_checkpoints("web");
  ASSERT_TRUE(checkpoints) << checkpoints.error().message;
  ASSERT_EQ(checkpoints->size(), 1u);
  const auto& checkpoint = (*checkpoints)[0];
  EXPECT_EQ(checkpoint.id, "ckpt-1");
  EXPECT_EQ(checkpoint.created, m_manager.checkpoint_info.created);
  EXPECT_EQ(checkpoint.previous, "ckpt-0");
  EXPECT_TRUE(checkpoint.pinned);
  EXPECT_EQ(checkpoint.logical_bytes, 100u);
  EXPECT_EQ(checkpoint.stored_bytes, 50u);
  EXPECT_EQ(checkpoint.criu_version, "4.2.1");
}

TEST_F(AMethodCall, DeletesACheckpoint) {
  ASSERT_TRUE(m_client->delete_checkpoint("web", "ckpt-0"));
  EXPECT_EQ(m_manager.last().method, "delete_checkpoint");
  EXPECT_EQ(m_manager.last().checkpoint, "ckpt-0");
}

TEST_F(AMethodCall, PinsAndUnpinsACheckpoint) {
  ASSERT_TRUE(m_client->pin_checkpoint("web", "ckpt-1", true));
  EXPECT_TRUE(m_manager.last().flag);
  ASSERT_TRUE(m_client->pin_checkpoint("web", "ckpt-1", false));
  EXPECT_FALSE(m_manager.last().flag);
}

TEST_F(AMethodCall, PrunesReturningTheDecisions) {
  auto decisions = m_client->prune("web", true);
  ASSERT_TRUE(decisions) << decisions.error().message;
  EXPECT_EQ(*decisions, m_manager.decisions);
  EXPECT_TRUE(m_manager.last().flag);
}

TEST_F(AMethodCall, VerifiesReturningTheProblems) {
  auto report = m_client->verify("web", "");
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->problems, m_manager.report.problems);
}

TEST_F(AMethodCall, ReloadsReturningTheChanges) {
  auto changes = m_client->reload();
  ASSERT_TRUE(changes) << changes.error().message;
  EXPECT_EQ(changes->added, std::vector<std::string>{"a"});
  EXPECT_EQ(changes->removed, (std::vector<std::string>{"b", "c"}));
  EXPECT_TRUE(changes->changed.empty());
}

TEST_F(AMethodCall, GetsTheEngineInfo) {
  auto engine = m_client->engine_info();
  ASSERT_TRUE(engine) << engine.error().message;
  EXPECT_EQ(engine->criu_path, "/opt/stasis/criu/bin/criu");
  EXPECT_EQ(engine->criu_version, "4.2.1");
  EXPECT_FALSE(engine->mem_track);
  EXPECT_TRUE(engine->lazy_pages);
  EXPECT_EQ(engine->kernel, "6.18.0");
}

TEST_F(AMethodCall, PassesTheCallersCredentialsFromTheBus) {
  ASSERT_TRUE(m_client->list_jobs());
  const auto caller = m_manager.last().caller;
  EXPECT_EQ(caller.uid, ::getuid());
  EXPECT_EQ(caller.pid, ::getpid());
  EXPECT_EQ(caller.gid, ::getgid());
}

} // namespace
} // namespace stasis::test
