// stasisd end to end: checkpoints outlive their job's name. A job whose policy
// file is removed leaves orphans that root lists (checkpoints --all),
// restores and prunes (also by the orphan-retention setting) and no other
// user sees; a renamed job (formerly:) keeps its old name's checkpoints, with
// the new job's access. Real CRIU, real workloads, a real second user.
#include "store/store.hpp"
#include "tests/dbus/daemon_fixture.hpp"
#include "tests/dbus/test_user.hpp"
#include "tests/support/process.hpp"
#include "tests/support/subreaper.hpp"

#include <fstream>
#include <sys/wait.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class AnOrphanedJob : public DaemonTest {
protected:
  // Checkpoints the job and returns the checkpoint's id (fails the test if
  // the run does not succeed).
  std::string checkpoint_of(dbus::Client& client, const std::string& job) {
    auto run = client.checkpoint(job, {});
    EXPECT_TRUE(run) << (run ? "" : run.error().message);
    if (!run) {
      return "";
    }
    auto info = wait_run(client, *run);
    EXPECT_EQ(info.state, manager::RunState::Succeeded) << info.error << "\n" << log();
    return info.checkpoint;
  }

  // Restores the checkpoint of the job and lets the workload check itself.
  void restore_and_verify(dbus::Client& client, Workload& workload,
                          const std::string& job, const std::string& id) {
    auto restore = client.restore(job, id, {});
    ASSERT_TRUE(restore) << restore.error().message;
    auto restored = wait_run(client, *restore);
    ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << "\n"
                                                            << log();
    EXPECT_EQ(restored.checkpoint, id);
    ASSERT_GT(restored.pid, 0);
    workload.adopt(restored.pid);
    EXPECT_EQ(workload.verify(), "");
    EXPECT_TRUE(workload.wait_for_ticks(workload.ticks() + 2, 5s));
  }

  // The entry of `checkpoints --all --json` for job/id, or null.
  json listed_entry(const std::string& job, const std::string& id,
                    const std::string& user = "") {
    auto listed = stasisctl({"--json", "checkpoints", "--all"}, user);
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    if (listed.exit_code != 0) {
      return nullptr;
    }
    for (const auto& entry : json::parse(listed.out)) {
      if (entry.at("job") == job && entry.at("id") == id) {
        return entry;
      }
    }
    return nullptr;
  }
};

TEST_F(AnOrphanedJob, StaysListedAndIsRestoredByRootAfterItsPolicyFileIsRemoved) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  write_policy("gone.yaml", pidfile_job("gone", write_pidfile("gone", workload.pid())));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  const auto id = checkpoint_of(*client, "gone");
  ASSERT_FALSE(id.empty());
  workload.reap_after_dump();

  std::filesystem::remove(policy_dir() / "gone.yaml");
  auto changes = client->reload();
  ASSERT_TRUE(changes) << changes.error().message;
  EXPECT_EQ(changes->removed, std::vector<std::string>{"gone"});
  auto jobs = client->list_jobs();
  ASSERT_TRUE(jobs);
  EXPECT_TRUE(jobs->empty());

  // Listed with --all, marked as an orphan; kept (orphan-retention: keep-all).
  const auto entry = listed_entry("gone", id);
  ASSERT_FALSE(entry.is_null()) << log();
  EXPECT_EQ(entry.at("orphan"), true);
  EXPECT_TRUE(entry.at("renamed_to").is_null());
  const auto text = stasisctl({"checkpoints", "--all"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("orphan"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("gone"), std::string::npos) << text.out;
  auto by_name = client->list_checkpoints("gone");
  ASSERT_TRUE(by_name) << by_name.error().message;
  ASSERT_EQ(by_name->size(), 1u);

  // No new checkpoints without a policy.
  auto refused = client->checkpoint("gone", {});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("no policy names job 'gone'"), std::string::npos)
      << refused.error().message;

  restore_and_verify(*client, workload, "gone", id);
}

TEST_F(AnOrphanedJob, IsNoOtherUsersToListRestoreDeleteOrPrune) {
  TestUser user("stasis-t-orph-user");
  auto shared = Workload::start("stasis-wl-counter", {}, dir() / "shared");
  auto gone = Workload::start("stasis-wl-counter", {}, dir() / "gone");
  ASSERT_TRUE(shared.wait_for_ticks(2, 5s));
  ASSERT_TRUE(gone.wait_for_ticks(2, 5s));
  // Both jobs let the user list, restore and delete while they have a policy.
  const auto access =
      fmt::format("access:\n  list: {{users: [{0}]}}\n  restore: {{users: [{0}]}}\n"
                  "  delete: {{users: [{0}]}}\n",
                  user.name());
  write_policy("shared.yaml",
               pidfile_job("shared", write_pidfile("shared", shared.pid()), access));
  write_policy("gone.yaml",
               pidfile_job("gone", write_pidfile("gone", gone.pid()), access));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  const auto shared_id = checkpoint_of(*client, "shared");
  const auto gone_id = checkpoint_of(*client, "gone");
  ASSERT_FALSE(shared_id.empty());
  ASSERT_FALSE(gone_id.empty());
  shared.reap_after_dump();
  gone.reap_after_dump();
  std::filesystem::remove(policy_dir() / "gone.yaml");
  ASSERT_TRUE(client->reload());

  // The user lists the job whose policy lets her, not the orphan.
  EXPECT_FALSE(listed_entry("shared", shared_id, user.name()).is_null());
  EXPECT_TRUE(listed_entry("gone", gone_id, user.name()).is_null());
  EXPECT_FALSE(listed_entry("gone", gone_id).is_null());

  // Every call naming the orphan answers as for a name nobody uses.
  const std::vector<std::vector<std::string>> calls = {
      {"checkpoints", "JOB"},  {"show", "JOB", "ID"},   {"restore", "JOB", "ID"},
      {"delete", "JOB", "ID"}, {"prune", "JOB"},        {"pin", "JOB", "ID"},
      {"verify", "JOB", "ID"}, {"inspect", "JOB", "ID"}};
  for (auto call : calls) {
    auto nobody = call;
    for (auto& arg : call) {
      arg = arg == "JOB" ? "gone" : arg == "ID" ? gone_id : arg;
    }
    for (auto& arg : nobody) {
      arg = arg == "JOB" ? "nobody-has-it" : arg == "ID" ? gone_id : arg;
    }
    const auto theirs = stasisctl(call, user.name());
    const auto none = stasisctl(nobody, user.name());
    EXPECT_NE(theirs.exit_code, 0) << call[0] << ": " << theirs.out;
    EXPECT_EQ(theirs.exit_code, none.exit_code) << call[0] << ": " << theirs.err;
    auto message = theirs.err;
    for (auto at = message.find("gone"); at != std::string::npos;
         at = message.find("gone", at)) {
      message.replace(at, 4, "nobody-has-it");
    }
    EXPECT_EQ(message, none.err) << call[0];
  }
  // Still there for root.
  auto kept = client->list_checkpoints("gone");
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_EQ(kept->size(), 1u);
}

TEST_F(AnOrphanedJob, RestoresAUsersTreeWithHerRightsNeverAsRoot) {
  TestUser user("stasis-t-orph-rights");
  const auto home = dir() / user.name();
  const pid_t pid = start_workload_as(user, "stasis-wl-counter", home);
  ASSERT_GT(pid, 0);
  KillOnExit guard{pid};
  // Root's policy might have said restore.run-as: root; the orphan has no
  // policy, so her tree comes back with her rights whatever it said.
  write_policy("app.yaml", pidfile_job("app", write_pidfile("app", pid),
                                       "restore: {run-as: root}\n"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  const auto id = checkpoint_of(*client, "app");
  ASSERT_FALSE(id.empty());
  int status = 0;
  ::waitpid(pid, &status, 0); // CRIU killed it after the dump
  release_child(pid);
  ASSERT_TRUE(wait_pid_free(pid, 10s));
  std::filesystem::remove(policy_dir() / "app.yaml");
  ASSERT_TRUE(client->reload());

  auto asked = client->restore("app", id, {});
  ASSERT_TRUE(asked) << asked.error().message;
  const auto restored = wait_run(*client, *asked);
  ASSERT_EQ(restored.state, manager::RunState::Succeeded) << restored.error << log();
  KillOnExit restored_guard{restored.pid};
  EXPECT_EQ(uid_line(restored.pid), fmt::format("Uid:\t{0}\t{0}\t{0}\t{0}", user.uid()));
  EXPECT_EQ(verify_workload(restored.pid, home / "status"), "");
  EXPECT_NE(log().find(fmt::format("with the rights of uid {}", user.uid())),
            std::string::npos)
      << log();
}

TEST_F(AnOrphanedJob, IsPrunedByTheOrphanRetentionSetting) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  write_policy("old.yaml", pidfile_job("old", write_pidfile("old", workload.pid()),
                                       "criu:\n  leave-running: true\n"));
  start_daemon({"--orphan-retention", "keep-last:1"});
  auto client = this->client();
  ASSERT_TRUE(client);
  const auto first = checkpoint_of(*client, "old");
  ASSERT_TRUE(workload.wait_for_ticks(workload.ticks() + 1, 5s));
  const auto second = checkpoint_of(*client, "old");
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  // A job with a policy keeps what its own retention says (everything).
  auto both = client->list_checkpoints("old");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->size(), 2u);

  std::filesystem::remove(policy_dir() / "old.yaml");
  ASSERT_TRUE(client->reload());
  auto left = client->list_checkpoints("old");
  ASSERT_TRUE(left) << left.error().message;
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().id, second);
  EXPECT_NE(log().find("orphan retention (keep-last 1) deleted checkpoint(s) " + first +
                       " of job old"),
            std::string::npos)
      << log();
  // Root prunes an orphan by the same rule, and deletes its checkpoints.
  auto pruned = stasisctl({"prune", "old", "--dry-run"});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_NE(pruned.out.find(second + ": keep"), std::string::npos) << pruned.out;
  auto deleted = stasisctl({"delete", "old", second});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  auto none = client->list_checkpoints("old");
  EXPECT_TRUE(!none || none->empty());
}

TEST_F(AnOrphanedJob, OfAContainerIsNotRestoredWithoutItsRuntimesSettings) {
  // A container job's checkpoint, left in the store by a removed policy.
  const auto images = dir() / "images";
  std::filesystem::create_directories(images);
  std::ofstream(images / "inventory.img") << "not read before the refusal";
  {
    auto store = store::Store::open(state_dir());
    ASSERT_TRUE(store) << store.error().message;
    store::IngestInfo info;
    info.target = "runc container web (pid 7)";
    auto stored = store->ingest("box", images, info);
    ASSERT_TRUE(stored) << stored.error().message;
  }
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  EXPECT_FALSE(listed_entry("box", "1").is_null());
  auto refused = client->restore("box", "1", {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, dbus::ClientErrorKind::InvalidArgument);
  EXPECT_NE(
      refused.error().message.find(
          "checkpoint 1 of job 'box' is of a container (runc container web (pid 7))"),
      std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("`formerly: [box]`"), std::string::npos)
      << refused.error().message;
}

TEST_F(AnOrphanedJob, RetentionSettingThatIsNoRuleKeepsStasisdFromStarting) {
  const auto state = dir() / "bad-state";
  for (const std::string bad :
       {"keep-daily:7", "keep-last:0", "keep-last:1001", "keep-within:soon"}) {
    const auto started = run_captured(
        {STASISD_PATH, "--bus", bus_address(), "--policy-dir", policy_dir().string(),
         "--state-dir", state.string(), "--orphan-retention", bad});
    EXPECT_EQ(started.exit_code, 2) << bad << ": " << started.err;
    EXPECT_NE(started.err.find("--orphan-retention"), std::string::npos) << started.err;
    EXPECT_NE(started.err.find("'" + bad + "'"), std::string::npos) << started.err;
  }
  EXPECT_FALSE(std::filesystem::exists(state));
}

class ARenamedJob : public AnOrphanedJob {};

TEST_F(ARenamedJob, ListsRestoresAndPrunesTheCheckpointsOfItsFormerName) {
  TestUser user("stasis-t-orph-renamed");
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 5s));
  const auto pidfile = write_pidfile("counter", workload.pid());
  // The old job let the user list it; the new one (root's alone) does not.
  write_policy("job.yaml", pidfile_job("old-name", pidfile,
                                       fmt::format("access:\n  list: {{users: [{}]}}\n",
                                                   user.name())));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  const auto id = checkpoint_of(*client, "old-name");
  ASSERT_FALSE(id.empty());
  workload.reap_after_dump();
  EXPECT_FALSE(listed_entry("old-name", id, user.name()).is_null());

  write_policy("job.yaml",
               pidfile_job("new-name", pidfile,
                           "formerly: [old-name]\nretention:\n  keep-last: 5\n"));
  auto changes = client->reload();
  ASSERT_TRUE(changes) << changes.error().message;
  EXPECT_TRUE(changes->problems.empty()) << changes->problems.front();
  EXPECT_EQ(changes->added, std::vector<std::string>{"new-name"});

  const auto entry = listed_entry("old-name", id);
  ASSERT_FALSE(entry.is_null());
  EXPECT_EQ(entry.at("orphan"), false);
  EXPECT_EQ(entry.at("renamed_to"), "new-name");
  // The new job's access applies: the user no longer sees the old name.
  EXPECT_TRUE(listed_entry("old-name", id, user.name()).is_null());
  const auto theirs = stasisctl({"checkpoints", "old-name"}, user.name());
  EXPECT_EQ(theirs.exit_code, 5) << theirs.out << theirs.err;

  // New checkpoints go under the new name only.
  auto refused = client->checkpoint("old-name", {});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("was renamed to 'new-name'"), std::string::npos)
      << refused.error().message;
  // The new job's retention covers the old name's checkpoints.
  auto decisions = client->prune("new-name", true);
  ASSERT_TRUE(decisions) << decisions.error().message;
  bool covered = false;
  for (const auto& line : *decisions) {
    covered = covered || line.starts_with("old-name/" + id + ": keep");
  }
  EXPECT_TRUE(covered) << log();

  restore_and_verify(*client, workload, "old-name", id);
}

} // namespace
} // namespace stasis::test
