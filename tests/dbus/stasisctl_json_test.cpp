// stasisctl's --json and --quiet against a real stasisd: the options work
// before and after the command, every JSON object has string ids, prune
// decisions are objects, jobs say whether they are enabled, checkpoint --json
// gives the sizes and the frozen time, and engine and engine-info agree.
#include "tests/dbus/daemon_fixture.hpp"

#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class StasisctlJson : public DaemonTest {
protected:
  // A job "web" on a counter (leave-running, keep-last N) and a disabled job "idle".
  void write_jobs(int keep_last) {
    const auto pidfile = write_pidfile("web", m_workload->pid());
    write_policy("web.yaml", pidfile_job("web", pidfile,
                                         "criu:\n  leave-running: true\n"
                                         "retention:\n  keep-last: " +
                                             std::to_string(keep_last) + "\n") +
                                 pidfile_job("idle", pidfile, "enabled: false\n"));
  }

  // The jobs of write_jobs(2), and two checkpoints of web.
  void start_with_two_checkpoints() {
    m_workload = std::make_unique<Workload>(
        Workload::start("stasis-wl-counter", {}, dir() / "counter"));
    ASSERT_TRUE(m_workload->wait_for_ticks(2, 10s));
    write_jobs(2);
    start_daemon();
    for (int i = 0; i < 2; ++i) {
      auto made = stasisctl({"checkpoint", "web"});
      ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
    }
  }

  // stasisctl with --json before the command and after it: both succeed
  // and print the same document, which is returned.
  json both_ways(const std::vector<std::string>& command) {
    std::vector<std::string> before{"--json"};
    before.insert(before.end(), command.begin(), command.end());
    std::vector<std::string> after = command;
    after.push_back("--json");
    const auto first = stasisctl(before);
    const auto second = stasisctl(after);
    EXPECT_EQ(first.exit_code, 0) << first.out << first.err;
    EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
    const auto a = json::parse(first.out, nullptr, false);
    const auto b = json::parse(second.out, nullptr, false);
    EXPECT_FALSE(a.is_discarded()) << first.out;
    EXPECT_EQ(a, b) << first.out << "\n---\n" << second.out;
    return a;
  }

  std::unique_ptr<Workload> m_workload;
};

// Every field named like an id (id, previous, checkpoint, run) in a document
// is a string or null.
void expect_string_ids(const json& doc, const std::string& where) {
  if (doc.is_array()) {
    for (const auto& item : doc) {
      expect_string_ids(item, where);
    }
    return;
  }
  if (!doc.is_object()) {
    return;
  }
  for (const auto& [key, value] : doc.items()) {
    if (key == "id" || key == "previous" || key == "checkpoint" || key == "run") {
      EXPECT_TRUE(value.is_string() || value.is_null())
          << where << ": " << key << " is " << value.dump();
    }
    expect_string_ids(value, where);
  }
}

TEST_F(StasisctlJson, TakesJsonBeforeOrAfterTheCommandAndGivesStringIdsEverywhere) {
  start_with_two_checkpoints();
  for (const auto& command : std::vector<std::vector<std::string>>{
           {"jobs"},
           {"status"},
           {"status", "web"},
           {"history"},
           {"checkpoints", "web"},
           {"show", "web", "latest"},
           {"prune", "web", "--dry-run"},
           {"verify", "web"},
           {"du"},
           {"engine-info"},
           {"checkpoints", "web", "--state-dir", state_dir().string()},
           {"show", "web", "latest", "--state-dir", state_dir().string()},
           {"verify", "web", "--state-dir", state_dir().string()}}) {
    const auto doc = both_ways(command);
    expect_string_ids(doc, command.front());
  }
  // These may change between two calls: asked once.
  for (const auto& command : std::vector<std::vector<std::string>>{
           {"fsck", "--json"}, {"--json", "gc"}, {"metrics", "--json"}}) {
    const auto result = stasisctl(command);
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    const auto doc = json::parse(result.out, nullptr, false);
    EXPECT_TRUE(doc.is_object()) << result.out;
    expect_string_ids(doc, command.front());
  }
}

TEST_F(StasisctlJson, ListsJobsWithWhetherTheyAreEnabled) {
  start_with_two_checkpoints();
  const auto jobs = both_ways({"jobs"});
  ASSERT_EQ(jobs.size(), 2u) << jobs.dump();
  for (const auto& job : jobs) {
    ASSERT_TRUE(job["enabled"].is_boolean()) << job.dump();
    EXPECT_EQ(job["enabled"].get<bool>(), job["name"] == "web") << job.dump();
  }
}

TEST_F(StasisctlJson, GivesTheSizesAndTheFrozenTimeOfTheCheckpointItMade) {
  start_with_two_checkpoints();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--json", "checkpoint", "web"}, {"checkpoint", "web", "--json"}}) {
    const auto made = stasisctl(args);
    ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
    const auto run = json::parse(made.out, nullptr, false);
    ASSERT_TRUE(run.is_object()) << made.out;
    EXPECT_TRUE(run["id"].is_string()) << made.out;
    EXPECT_EQ(run["kind"], "checkpoint") << made.out;
    EXPECT_EQ(run["state"], "succeeded") << made.out;
    ASSERT_TRUE(run["checkpoint"].is_string()) << made.out;
    EXPECT_GT(run["logical_bytes"].get<std::uint64_t>(), 0u) << made.out;
    EXPECT_TRUE(run["stored_bytes"].is_number_unsigned()) << made.out;
    EXPECT_GT(run["frozen_usec"].get<std::uint64_t>(), 0u) << made.out;

    // The same numbers as the checkpoint's own object.
    const auto shown = both_ways({"show", "web", run["checkpoint"].get<std::string>()});
    EXPECT_EQ(shown["logical_bytes"], run["logical_bytes"]);
    EXPECT_EQ(shown["frozen_usec"], run["frozen_usec"]);
  }
}

TEST_F(StasisctlJson, PrintsPruneDecisionsAsObjectsThroughTheDaemonAndAStateDir) {
  start_with_two_checkpoints();
  // Retention shrinks to one: stasisd's prune now deletes one of the two.
  write_jobs(1);
  const auto reloaded = stasisctl({"reload", "-q"});
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.out << reloaded.err;
  EXPECT_EQ(reloaded.out, "");
  for (const auto& decisions :
       {both_ways({"prune", "web", "--dry-run"})["decisions"],
        both_ways({"prune", "web", "--dry-run", "--keep-last", "1", "--state-dir",
                   state_dir().string()})["decisions"]}) {
    ASSERT_EQ(decisions.size(), 2u) << decisions.dump();
    int kept = 0;
    for (const auto& decision : decisions) {
      ASSERT_TRUE(decision.is_object()) << decisions.dump();
      EXPECT_TRUE(decision["id"].is_string()) << decisions.dump();
      ASSERT_TRUE(decision["reasons"].is_array()) << decisions.dump();
      EXPECT_FALSE(decision["reasons"].empty()) << decisions.dump();
      const auto word = decision["decision"].get<std::string>();
      EXPECT_TRUE(word == "keep" || word == "delete") << word;
      kept += word == "keep" ? 1 : 0;
    }
    EXPECT_EQ(kept, 1) << decisions.dump();
  }

  const auto pruned = stasisctl({"prune", "web", "--json"});
  ASSERT_EQ(pruned.exit_code, 0) << pruned.out << pruned.err;
  const auto doc = json::parse(pruned.out);
  ASSERT_EQ(doc["deleted"].size(), 1u) << pruned.out;
  EXPECT_TRUE(doc["deleted"][0].is_string()) << pruned.out;
  EXPECT_EQ(both_ways({"checkpoints", "web"}).size(), 1u);
}

TEST_F(StasisctlJson, PrintsTheSameEngineObjectForEngineAndEngineInfo) {
  start_with_two_checkpoints();
  const auto daemon = both_ways({"engine-info"});
  const auto local = both_ways({"engine"});
  for (const auto& [key, value] : local.items()) {
    EXPECT_TRUE(daemon.contains(key)) << key << " " << daemon.dump();
  }
  for (const auto& [key, value] : daemon.items()) {
    EXPECT_TRUE(local.contains(key)) << key << " " << local.dump();
  }
  EXPECT_EQ(daemon["kernel"], local["kernel"]);
  EXPECT_EQ(daemon["criu"]["version"], local["criu"]["version"]);
  for (const char* feature : {"mem_track", "lazy_pages"}) {
    EXPECT_EQ(daemon["features"][feature]["available"],
              local["features"][feature]["available"])
        << feature;
  }
}

TEST_F(StasisctlJson, PrintsOnlyIdsAndNamesWithQuietBeforeOrAfterTheCommand) {
  start_with_two_checkpoints();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-q", "checkpoint", "web"}, {"checkpoint", "web", "--quiet"}}) {
    const auto made = stasisctl(args);
    ASSERT_EQ(made.exit_code, 0) << made.out << made.err << log();
    EXPECT_EQ(made.err, "");
    ASSERT_FALSE(made.out.empty());
    EXPECT_EQ(made.out.find('\n'), made.out.size() - 1) << made.out;
    const auto listed = stasisctl({"checkpoints", "web", "-q"});
    EXPECT_NE(listed.out.find(made.out), std::string::npos) << made.out << listed.out;
  }
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"-q", "jobs"}, {"jobs", "--quiet"}}) {
    const auto listed = stasisctl(args);
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_EQ(listed.out, "idle\nweb\n");
  }
  const auto runs = stasisctl({"history", "-q"});
  EXPECT_EQ(runs.exit_code, 0) << runs.err;
  EXPECT_FALSE(runs.out.empty());
  EXPECT_EQ(runs.out.find(' '), std::string::npos) << runs.out;

  // Informational lines go; the exit code still tells.
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"fsck", "-q"},
                                             {"-q", "gc"},
                                             {"verify", "web", "--quiet"},
                                             {"-q", "reload"}}) {
    const auto quiet = stasisctl(args);
    EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
    EXPECT_EQ(quiet.out, "") << args[0] << args[1];
  }
  const auto loud = stasisctl({"fsck"});
  EXPECT_NE(loud.out.find("clean"), std::string::npos) << loud.out;
}

} // namespace
} // namespace stasis::test
