// The JSON objects of stasisctl (cli/json_output.hpp): one schema per object,
// ids as strings, prune decisions as objects, engine and engine-info alike.
#include "cli/json_output.hpp"

#include <gtest/gtest.h>

namespace stasis::cli {
namespace {

using nlohmann::json;

TEST(AStasisctlCheckpointObject, IsTheSameForTheDaemonsListingAndAStateDir) {
  store::CheckpointSummary summary;
  summary.job = "web";
  summary.id = 7;
  summary.previous = 6;
  summary.created = std::chrono::sys_seconds(std::chrono::seconds(1'700'000'000));
  summary.logical_bytes = 4096;
  summary.stored_bytes = 1024;
  summary.policy_fingerprint = "abc";
  summary.criu_version = "4.2.1";
  summary.stats.frozen_usec = 1500;

  manager::CheckpointInfo daemon;
  daemon.id = "7";
  daemon.previous = "6";
  daemon.created = manager::TimePoint(summary.created);
  daemon.logical_bytes = 4096;
  daemon.stored_bytes = 1024;
  daemon.fingerprint = "abc";
  daemon.criu_version = "4.2.1";
  daemon.frozen_usec = 1500;

  const json offline = checkpoint_json("web", checkpoint_info(summary));
  EXPECT_EQ(offline, checkpoint_json("web", daemon));
  EXPECT_EQ(offline["id"], "7");
  EXPECT_EQ(offline["previous"], "6");
  EXPECT_EQ(offline["created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(offline["logical_bytes"], 4096);
  EXPECT_EQ(offline["frozen_usec"], 1500);
  EXPECT_TRUE(offline["problem"].is_null());
}

TEST(AStasisctlCheckpointObject, HasNullForWhatADamagedCheckpointDoesNotTell) {
  manager::CheckpointInfo damaged;
  damaged.id = "3";
  damaged.problem = "manifest unreadable";
  const json j = checkpoint_json("web", damaged);
  EXPECT_EQ(j["id"], "3");
  EXPECT_TRUE(j["damaged"].get<bool>());
  EXPECT_TRUE(j["created"].is_null());
  EXPECT_TRUE(j["logical_bytes"].is_null());
  EXPECT_TRUE(j["previous"].is_null());
  EXPECT_EQ(j["problem"], "manifest unreadable");
}

TEST(AStasisctlPruneLine, BecomesADecisionObject) {
  const auto keep = parse_prune_line("12: keep (last #1, daily #1)");
  ASSERT_TRUE(keep);
  EXPECT_EQ(prune_decision_json(*keep, "web"),
            (json{{"job", "web"},
                  {"id", "12"},
                  {"decision", "keep"},
                  {"reasons", {"last #1", "daily #1"}}}));
  const auto drop = parse_prune_line(
      "4: delete (dropped by max-total-size 1 GiB (was kept: daily, weekly))");
  ASSERT_TRUE(drop);
  EXPECT_EQ(prune_decision_json(*drop, "web")["decision"], "delete");
  EXPECT_EQ(drop->reasons,
            std::vector<std::string>{
                "dropped by max-total-size 1 GiB (was kept: daily, weekly)"});
  // A renamed job's retention also decides on its former name's checkpoints.
  const auto former = parse_prune_line("old-web/3: delete (matches no keep rule)");
  ASSERT_TRUE(former);
  EXPECT_EQ(prune_decision_json(*former, "web")["job"], "old-web");
  EXPECT_EQ(prune_decision_json(*former, "web")["id"], "3");
  const auto bare = parse_prune_line("5: delete ()");
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->reasons.empty());
}

TEST(AStasisctlPruneLine, IsRefusedWhenItIsNoDecision) {
  EXPECT_FALSE(parse_prune_line(""));
  EXPECT_FALSE(parse_prune_line("12 keep"));
  EXPECT_FALSE(parse_prune_line("12: maybe (x)"));
  EXPECT_FALSE(parse_prune_line("12: keep newest"));
  EXPECT_FALSE(parse_prune_line(": keep (x)"));
  EXPECT_FALSE(parse_prune_line("/3: keep (x)"));
  EXPECT_FALSE(parse_prune_line("old: retention failed: no space"));
}

TEST(AStasisctlPruneObject, ListsDeletedIdsOnlyWhenNotADryRun) {
  const std::vector<store::PruneDecision> store_decisions{
      {1, false, {"matches no keep rule"}}, {2, true, {"newest"}}};
  const auto decisions = prune_decisions(store_decisions);
  const json real = prune_json("web", false, decisions, gc_json(1, 0, 4096));
  EXPECT_EQ(real["deleted"], (json{"1"}));
  EXPECT_EQ(real["decisions"][0]["id"], "1");
  EXPECT_EQ(real["decisions"][0]["decision"], "delete");
  EXPECT_EQ(real["gc"]["freed_bytes"], 4096);
  const json dry = prune_json("web", true, decisions, nullptr);
  EXPECT_TRUE(dry["deleted"].empty());
  EXPECT_TRUE(dry["gc"].is_null());
}

TEST(AStasisctlEngineObject, HasTheSameKeysForEngineAndEngineInfo) {
  manager::EngineInfo info{"/usr/sbin/criu", "4.2.1", true, false, "Linux 6.1.0 x86_64"};
  const json daemon = engine_json(engine_report(info));

  EngineReport here;
  here.kernel = "Linux 6.1.0 x86_64";
  here.criu_path = "/usr/sbin/criu";
  here.criu_version = "4.2.1";
  here.check_ok = true;
  here.mem_track = EngineReport::Feature{true, ""};
  here.lazy_pages = EngineReport::Feature{false, "no userfaultfd"};
  const json local = engine_json(here);

  for (const auto& [key, value] : local.items()) {
    EXPECT_TRUE(daemon.contains(key)) << key;
  }
  for (const auto& [key, value] : daemon.items()) {
    EXPECT_TRUE(local.contains(key)) << key;
  }
  EXPECT_EQ(daemon["criu"], local["criu"]);
  EXPECT_EQ(daemon["kernel"], local["kernel"]);
  EXPECT_EQ(daemon["features"]["mem_track"]["available"], true);
  EXPECT_EQ(daemon["features"]["lazy_pages"]["available"], false);
  EXPECT_EQ(local["features"]["lazy_pages"]["reason"], "no userfaultfd");
  EXPECT_TRUE(daemon["check"].is_null());
  EXPECT_EQ(local["check"]["ok"], true);
}

TEST(AStasisctlMetricsObject, HoldsEverySampleWithItsLabels) {
  const json j = metrics_json("# HELP stasis_runs_total Runs.\n"
                              "# TYPE stasis_runs_total counter\n"
                              "stasis_runs_total{job=\"web\",kind=\"a\\\"b\"} 3\n"
                              "stasis_up 1\n"
                              "stasis_ratio 0.5\n"
                              "\n");
  ASSERT_EQ(j["metrics"].size(), 3u) << j.dump();
  EXPECT_EQ(j["metrics"][0]["name"], "stasis_runs_total");
  EXPECT_EQ(j["metrics"][0]["labels"], (json{{"job", "web"}, {"kind", "a\"b"}}));
  EXPECT_TRUE(j["metrics"][0]["value"].is_number_integer());
  EXPECT_EQ(j["metrics"][0]["value"], 3);
  EXPECT_EQ(j["metrics"][1]["labels"], json::object());
  EXPECT_DOUBLE_EQ(j["metrics"][2]["value"].get<double>(), 0.5);
}

} // namespace
} // namespace stasis::cli
