#include "manager/run_history.hpp"

#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const TimePoint k_t0 = TimePoint(std::chrono::seconds(1'700'000'000));

RunInfo make_run(const std::string& id, const std::string& job,
                 RunState state = RunState::Succeeded, TimePoint started = k_t0) {
  RunInfo run;
  run.id = id;
  run.job = job;
  run.state = state;
  run.started = started;
  if (state != RunState::Queued && state != RunState::Running) {
    run.finished = started + 2s;
  }
  return run;
}

class ARunHistory : public ::testing::Test {
protected:
  void SetUp() override {
    char name[] = "/tmp/stasis-history-XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    m_dir = name;
    m_file = m_dir / "runs.jsonl";
  }
  void TearDown() override { fs::remove_all(m_dir); }

  // Bulk tests skip fdatasync to stay fast; the others keep it on.
  std::unique_ptr<RunHistory> open(std::size_t max_runs = 10000, bool sync = true) {
    auto history = RunHistory::open(m_file, max_runs, sync);
    EXPECT_TRUE(history) << history.error().message;
    return history ? std::move(*history) : nullptr;
  }

  std::string file_text() const {
    std::ifstream in(m_file);
    std::string text, line;
    while (std::getline(in, line)) {
      text += line + "\n";
    }
    return text;
  }

  fs::path m_dir;
  fs::path m_file;
};

TEST_F(ARunHistory, RoundTripsEveryFieldOfARun) {
  RunInfo run = make_run("r-1", "web");
  run.kind = RunKind::Restore;
  run.checkpoint = "c-9";
  run.pid = 77;
  run.pid_identity = "boot/123";
  run.error = "quote \" and\nnewline";
  run.frozen_usec = 1234;
  run.logical_bytes = 1ull << 40;
  run.stored_bytes = 99;
  auto parsed = run_from_json_line(run_to_json_line(run));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(run_to_json_line(*parsed), run_to_json_line(run));
  EXPECT_EQ(parsed->started, run.started);
}

TEST_F(ARunHistory, KeepsTheLatestStateOfARunAcrossReopen) {
  {
    auto history = open();
    ASSERT_TRUE(history->record(make_run("r-1", "web", RunState::Queued)));
    ASSERT_TRUE(history->record(make_run("r-2", "db", RunState::Queued)));
    ASSERT_TRUE(history->record(make_run("r-1", "web", RunState::Failed)));
  }
  auto history = open();
  EXPECT_EQ(history->size(), 2u);
  EXPECT_EQ(history->file_lines(), 3u);
  EXPECT_EQ(history->find("r-1")->state, RunState::Failed);
  EXPECT_FALSE(history->find("r-3"));
  auto all = history->list("");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "r-2"); // newest first, by first appearance
}

TEST_F(ARunHistory, ListsAJobsRunsNewestFirstWithALimit) {
  auto history = open();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        history->record(make_run(fmt::format("r-{}", i), i % 2 ? "odd" : "even")));
  }
  auto even = history->list("even", 2);
  ASSERT_EQ(even.size(), 2u);
  EXPECT_EQ(even[0].id, "r-4");
  EXPECT_EQ(even[1].id, "r-2");
  EXPECT_EQ(history->list("odd").size(), 2u);
  EXPECT_TRUE(history->list("none").empty());
}

TEST_F(ARunHistory, FindsTheLastFinishedRunOfAJob) {
  auto history = open();
  ASSERT_TRUE(history->record(make_run("r-1", "web", RunState::Succeeded)));
  ASSERT_TRUE(history->record(make_run("r-2", "web", RunState::Running)));
  EXPECT_EQ(history->last_finished("web")->id, "r-1");
  EXPECT_FALSE(history->last_finished("db"));
}

TEST_F(ARunHistory, FindsTheLastFinishedRunOfAKindForTheLastPush) {
  auto history = open();
  auto push = make_run("r-1", "web", RunState::Failed);
  push.kind = RunKind::Push;
  ASSERT_TRUE(history->record(push));
  ASSERT_TRUE(history->record(make_run("r-2", "web", RunState::Succeeded)));
  EXPECT_EQ(history->last_finished("web")->id, "r-2");
  EXPECT_EQ(history->last_finished("web", RunKind::Push)->id, "r-1");
  EXPECT_FALSE(history->last_finished("web", RunKind::Pull));
}

TEST_F(ARunHistory, DerivesLastCheckpointTimesIncludingSkippedRuns) {
  auto history = open();
  ASSERT_TRUE(history->record(make_run("r-1", "web", RunState::Succeeded, k_t0)));
  ASSERT_TRUE(history->record(make_run("r-2", "web", RunState::Failed, k_t0 + 1h)));
  RunInfo skipped = make_run("r-3", "db", RunState::Skipped);
  skipped.started.reset();
  skipped.finished = k_t0 + 5min;
  ASSERT_TRUE(history->record(skipped));
  RunInfo restore = make_run("r-4", "db", RunState::Succeeded, k_t0 + 2h);
  restore.kind = RunKind::Restore;
  ASSERT_TRUE(history->record(restore));
  auto times = history->last_checkpoint_times();
  EXPECT_EQ(times.at("web"), k_t0 + 1h);
  EXPECT_EQ(times.at("db"), k_t0 + 5min);
}

TEST_F(ARunHistory, IgnoresATornLastLineAndRepairsTheFile) {
  {
    auto history = open();
    ASSERT_TRUE(history->record(make_run("r-1", "web")));
    ASSERT_TRUE(history->record(make_run("r-2", "web")));
  }
  // Simulate kill -9 in the middle of a write.
  auto full = run_to_json_line(make_run("r-3", "web"));
  std::ofstream(m_file, std::ios::app) << full.substr(0, full.size() / 2);
  {
    auto history = open();
    EXPECT_EQ(history->size(), 2u);
    EXPECT_FALSE(history->find("r-3"));
    ASSERT_TRUE(history->record(make_run("r-4", "web")));
  }
  auto history = open();
  EXPECT_EQ(history->size(), 3u);
  EXPECT_TRUE(history->find("r-4"));
  EXPECT_EQ(file_text().find("r-3"), std::string::npos);
}

TEST_F(ARunHistory, SkipsACorruptLineInTheMiddle) {
  {
    auto history = open();
    ASSERT_TRUE(history->record(make_run("r-1", "web")));
  }
  std::ofstream(m_file, std::ios::app)
      << "{not json\n"
      << run_to_json_line(make_run("r-0", "web")) << "\n";
  {
    auto history = open();
    ASSERT_TRUE(history->record(make_run("r-2", "web")));
  }
  auto history = open();
  EXPECT_EQ(history->size(), 3u);
}

TEST_F(ARunHistory, CompactsToABoundedSizeKeepingEachJobsNewestRun) {
  {
    auto history = open(10, false);
    ASSERT_TRUE(history->record(make_run("r-lonely", "rare", RunState::Succeeded)));
    for (int i = 0; i < 100; ++i) {
      auto id = fmt::format("r-{:03}", i);
      ASSERT_TRUE(history->record(make_run(id, "busy", RunState::Queued)));
      ASSERT_TRUE(history->record(make_run(id, "busy", RunState::Succeeded)));
    }
    EXPECT_LE(history->file_lines(), 3u * 10 + 16);
    EXPECT_LE(history->size(), 10u + 16);
  }
  auto history = open(10);
  ASSERT_TRUE(history->compact());
  EXPECT_EQ(history->size(), 11u);
  EXPECT_EQ(history->file_lines(), 11u);
  EXPECT_TRUE(history->find("r-lonely"));
  EXPECT_EQ(history->list("busy", 1)[0].id, "r-099");
  EXPECT_FALSE(fs::exists(m_dir / "runs.jsonl.tmp"));
}

TEST_F(ARunHistory, SettlesRunsLeftUnfinishedByADeadDaemon) {
  {
    auto history = open();
    ASSERT_TRUE(history->record(make_run("r-1", "web", RunState::Running)));
    ASSERT_TRUE(history->record(make_run("r-2", "web", RunState::Succeeded)));
  }
  auto history = open();
  ASSERT_EQ(history->unfinished().size(), 1u);
  auto settled = history->settle_unfinished([](RunInfo& run) {
    run.state = RunState::Interrupted;
    run.error = "stasisd stopped during the run";
  });
  ASSERT_TRUE(settled);
  EXPECT_EQ(*settled, 1u);
  EXPECT_TRUE(history->unfinished().empty());
  auto reopened = open();
  EXPECT_EQ(reopened->find("r-1")->state, RunState::Interrupted);
  EXPECT_EQ(reopened->find("r-1")->error, "stasisd stopped during the run");
  EXPECT_EQ(reopened->find("r-2")->state, RunState::Succeeded);
}

TEST_F(ARunHistory, KeepsOnlyTheNewestRunsOfACappedJob) {
  auto history = open(10000, false);
  history->limit_job_runs("user-", 5);
  ASSERT_TRUE(history->record(make_run("r-web-1", "web")));
  ASSERT_TRUE(history->record(make_run("r-still", "user-1001", RunState::Running)));
  for (int i = 0; i < 500; ++i) {
    auto id = fmt::format("r-{:04}", i);
    ASSERT_TRUE(history->record(make_run(id, "user-1001", RunState::Queued)));
    ASSERT_TRUE(history->record(make_run(id, "user-1001", RunState::Running)));
    ASSERT_TRUE(history->record(make_run(id, "user-1001", RunState::Succeeded)));
  }
  ASSERT_TRUE(history->record(make_run("r-web-2", "web")));
  auto runs = history->list("user-1001");
  ASSERT_EQ(runs.size(), 5u);
  EXPECT_EQ(runs[0].id, "r-0499");
  EXPECT_EQ(runs[4].id, "r-still"); // unfinished runs are never dropped
  EXPECT_EQ(history->list("web").size(), 2u);
  // The file sheds the dropped runs as it is compacted: it stays small.
  EXPECT_LE(history->file_lines(), 3u * 7 + 16);

  auto reopened = open(10000, false);
  reopened->limit_job_runs("user-", 5);
  EXPECT_EQ(reopened->list("user-1001").size(), 5u);
  EXPECT_EQ(reopened->list("web").size(), 2u);
}

TEST_F(ARunHistory, CapsTheRunsItLoadsOnceTheLimitIsSet) {
  {
    auto history = open(10000, false);
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(history->record(make_run(fmt::format("r-{:02}", i), "user-7")));
    }
  }
  auto history = open(10000, false);
  EXPECT_EQ(history->list("user-7").size(), 20u);
  history->limit_job_runs("user-", 3);
  auto runs = history->list("user-7");
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].id, "r-19");
  EXPECT_EQ(runs[2].id, "r-17");
}

TEST_F(ARunHistory, AcceptsRecordsFromManyThreads) {
  auto history = open(10000, false);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        EXPECT_TRUE(history->record(make_run(fmt::format("r-{}-{}", t, i), "web")));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(history->size(), 100u);
  EXPECT_EQ(open()->size(), 100u);
}

TEST_F(ARunHistory, RejectsARunWithoutAnId) {
  EXPECT_FALSE(open()->record(RunInfo{}));
}

} // namespace
} // namespace stasis::manager
