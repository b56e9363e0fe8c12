#include "tests/unit/run_queue_fixture.hpp"

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

using namespace stasis::manager::test;
using namespace std::chrono_literals;

TEST_F(ARunQueue, RespectsTheConcurrencyLimit) {
  auto queue = make_queue(2);
  std::atomic<int> current{0};
  std::atomic<int> peak{0};
  for (int i = 0; i < 8; ++i) {
    submit(*queue, fmt::format("job{}", i), [&](RunContext&) {
      int now = ++current;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(10ms);
      --current;
      return RunOutcome{};
    });
  }
  queue->wait_idle();
  EXPECT_EQ(peak.load(), 2);
  EXPECT_EQ(m_history->list("").size(), 8u);
}

TEST_F(ARunQueue, RunsFiftyConcurrentRequestsOverFiveJobsWithoutOverlapOrLoss) {
  auto queue = make_queue(4);
  std::mutex mutex;
  std::map<std::string, int> running;
  std::atomic<int> overlaps{0};
  std::atomic<int> done{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 50; ++i) {
    callers.emplace_back([&, i] {
      std::string job = fmt::format("job{}", i % 5);
      submit(*queue, job, [&, job](RunContext&) {
        {
          std::lock_guard lock(mutex);
          overlaps += running[job]++ > 0 ? 1 : 0;
        }
        std::this_thread::sleep_for(1ms);
        {
          std::lock_guard lock(mutex);
          --running[job];
        }
        ++done;
        return RunOutcome{};
      });
    });
  }
  for (auto& caller : callers) {
    caller.join();
  }
  queue->wait_idle();
  EXPECT_EQ(done.load(), 50);
  EXPECT_EQ(overlaps.load(), 0);
  auto runs = m_history->list("");
  ASSERT_EQ(runs.size(), 50u);
  for (const auto& run : runs) {
    EXPECT_EQ(run.state, RunState::Succeeded);
  }
}

TEST_F(ARunQueue, RunsOneJobsRequestsInSubmissionOrder) {
  auto queue = make_queue(3);
  std::mutex mutex;
  std::vector<int> order;
  for (int i = 0; i < 10; ++i) {
    submit(*queue, "web", [&, i](RunContext&) {
      std::lock_guard lock(mutex);
      order.push_back(i);
      return RunOutcome{};
    });
  }
  queue->wait_idle();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST_F(ARunQueue, SkipsAScheduledRunWhileTheJobRuns) {
  auto queue = make_queue(2);
  Gate gate;
  auto first = submit(*queue, "web", wait_for(gate));
  ASSERT_TRUE(eventually([&] { return queue->get(first)->state == RunState::Running; }));
  std::atomic<bool> ran{false};
  auto second = submit(
      *queue, "web",
      [&](RunContext&) {
        ran = true;
        return RunOutcome{};
      },
      true);
  auto skipped = queue->get(second);
  ASSERT_TRUE(skipped);
  EXPECT_EQ(skipped->state, RunState::Skipped);
  EXPECT_EQ(skipped->error,
            fmt::format("skipped: run {} of job web is still running", first));
  EXPECT_EQ(events_of(second), (std::vector<std::string>{"finished:skipped"}));
  gate.open();
  queue->wait_idle();
  EXPECT_FALSE(ran);
}

TEST_F(ARunQueue, SkipsAScheduledRunWhileTheJobIsQueued) {
  auto queue = make_queue(1);
  Gate gate;
  submit(*queue, "other", wait_for(gate));
  auto queued = submit(*queue, "web", succeed());
  auto scheduled = submit(*queue, "web", succeed(), true);
  EXPECT_EQ(queue->get(scheduled)->state, RunState::Skipped);
  EXPECT_NE(queue->get(scheduled)->error.find(queued + " of job web is still queued"),
            std::string::npos);
  gate.open();
  queue->wait_idle();
  EXPECT_EQ(queue->get(queued)->state, RunState::Succeeded);
}

TEST_F(ARunQueue, CancelsAQueuedRunImmediately) {
  auto queue = make_queue(1);
  Gate gate;
  auto blocker = submit(*queue, "other", wait_for(gate));
  std::atomic<bool> ran{false};
  auto queued = submit(*queue, "web", [&](RunContext&) {
    ran = true;
    return RunOutcome{};
  });
  ASSERT_TRUE(queue->cancel(queued));
  EXPECT_EQ(queue->get(queued)->state, RunState::Cancelled);
  EXPECT_EQ(events_of(queued), (std::vector<std::string>{"finished:cancelled"}));
  gate.open();
  queue->wait_idle();
  EXPECT_FALSE(ran);
  EXPECT_EQ(m_history->find(queued)->state, RunState::Cancelled);
}

TEST_F(ARunQueue, CancelsARunningRunThroughItsStopToken) {
  auto queue = make_queue(1);
  auto run = submit(*queue, "web", [](RunContext& context) {
    while (!context.stop_requested()) {
      std::this_thread::sleep_for(1ms);
    }
    return RunOutcome{RunState::Failed, "", 0, "interrupted"};
  });
  ASSERT_TRUE(eventually([&] { return queue->get(run)->state == RunState::Running; }));
  ASSERT_TRUE(queue->cancel(run));
  queue->wait_idle();
  auto info = m_history->find(run);
  EXPECT_EQ(info->state, RunState::Cancelled);
  EXPECT_EQ(info->error, "interrupted");
}

TEST_F(ARunQueue, RefusesToCancelUnknownOrFinishedRuns) {
  auto queue = make_queue(1);
  auto unknown = queue->cancel("r-0-0");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::NoSuchRun);
  auto run = submit(*queue, "web", succeed());
  queue->wait_idle();
  auto finished = queue->cancel(run);
  ASSERT_FALSE(finished);
  EXPECT_EQ(finished.error().code, ErrorCode::InvalidArgument);
}

TEST_F(ARunQueue, AnnouncesStartProgressAndFinishInOrder) {
  auto queue = make_queue(2);
  auto run = submit(*queue, "web", [](RunContext& context) {
    context.progress("dump", 1, 2);
    context.progress("store", 2, 2);
    return RunOutcome{RunState::Failed, "", 0, "criu said no"};
  });
  queue->wait_idle();
  EXPECT_EQ(events_of(run), (std::vector<std::string>{"started", "progress", "progress",
                                                      "finished:failed"}));
}

TEST_F(ARunQueue, RecordsEveryStateAndTheOutcomeInTheHistory) {
  auto queue = make_queue(1);
  Gate gate;
  auto run = submit(*queue, "web", [&](RunContext&) {
    gate.wait();
    return RunOutcome{RunState::Succeeded, "c-1", 42, "", 7, 100, 60};
  });
  ASSERT_TRUE(
      eventually([&] { return m_history->find(run)->state == RunState::Running; }));
  EXPECT_TRUE(m_history->find(run)->started);
  gate.open();
  queue->wait_idle();
  auto info = m_history->find(run);
  EXPECT_EQ(info->state, RunState::Succeeded);
  EXPECT_EQ(info->checkpoint, "c-1");
  EXPECT_EQ(info->pid, 42);
  EXPECT_EQ(info->stored_bytes, 60u);
  EXPECT_TRUE(info->finished);
  EXPECT_EQ(m_history->file_lines(), 3u); // queued, running, succeeded
}

TEST_F(ARunQueue, TurnsAThrowingWorkIntoAFailedRun) {
  auto queue = make_queue(1);
  auto run = submit(*queue, "web",
                    [](RunContext&) -> RunOutcome { throw std::runtime_error("boom"); });
  queue->wait_idle();
  EXPECT_EQ(m_history->find(run)->error, "internal error: boom");
}

TEST_F(ARunQueue, GivesUniqueSortableRunIds) {
  auto queue = make_queue(2);
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(submit(*queue, fmt::format("j{}", i % 3), succeed()));
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_EQ(ids[0].rfind("r-", 0), 0u);
  queue->wait_idle();
}

TEST_F(ARunQueue, CancelsEverythingOnShutdownAndRefusesNewRuns) {
  auto queue = make_queue(1);
  auto running = submit(*queue, "web", [](RunContext& context) {
    while (!context.stop_requested()) {
      std::this_thread::sleep_for(1ms);
    }
    return RunOutcome{RunState::Cancelled, "", 0, ""};
  });
  auto queued = submit(*queue, "db", succeed());
  ASSERT_TRUE(
      eventually([&] { return queue->get(running)->state == RunState::Running; }));
  queue->shutdown();
  EXPECT_EQ(m_history->find(running)->state, RunState::Cancelled);
  EXPECT_EQ(m_history->find(queued)->state, RunState::Cancelled);
  auto refused = queue->submit(RunRequest{"web", RunKind::Checkpoint, false, succeed()});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::Busy);
}

} // namespace
} // namespace stasis::manager
