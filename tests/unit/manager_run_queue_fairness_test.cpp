// The run queue's rules against floods: a bound on each user's queued runs,
// priority runs (scheduled and root's) first with a worker kept for them, and
// users taking turns. Work is fake and waits on gates; nothing is timed.
#include "manager/process_identity.hpp"
#include "tests/unit/run_queue_fixture.hpp"

#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

using namespace stasis::manager::test;

constexpr uid_t k_alice = 1001;
constexpr uid_t k_bob = 1002;
constexpr uid_t k_carol = 1003;

// Collects the names of runs in the order their work starts.
class StartOrder {
public:
  RunWork work(const std::string& name) {
    return [this, name](RunContext&) {
      std::lock_guard lock(m_mutex);
      m_started.push_back(name);
      return RunOutcome{};
    };
  }
  std::vector<std::string> started() {
    std::lock_guard lock(m_mutex);
    return m_started;
  }

private:
  std::mutex m_mutex;
  std::vector<std::string> m_started;
};

// Work that opens `started` and then waits for `release`.
RunWork hold(Gate& started, Gate& release) {
  return [&started, &release](RunContext&) {
    started.open();
    release.wait();
    return RunOutcome{};
  };
}

class AFairRunQueue : public ARunQueue {
protected:
  MResult<std::string> submit_as(RunQueue& queue, uid_t caller, const std::string& job,
                                 RunWork work, bool scheduled = false) {
    RunRequest request{job, RunKind::Checkpoint, scheduled, std::move(work)};
    request.caller = caller;
    return queue.submit(std::move(request));
  }
};

TEST_F(AFairRunQueue, RefusesAUsersRunBeyondTheQueuedLimitWithBusyAndRecordsNothing) {
  auto queue = make_queue(2, 3);
  Gate started, release;
  ASSERT_TRUE(submit_as(*queue, k_alice, "user-1001", hold(started, release)));
  ASSERT_TRUE(started.wait_bounded());
  for (int i = 0; i < 3; ++i) { // queued behind the running one (same job)
    ASSERT_TRUE(submit_as(*queue, k_alice, "user-1001", succeed()));
  }
  const auto recorded = m_history->size();

  auto refused = submit_as(*queue, k_alice, "user-1001", succeed());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::Busy);
  EXPECT_NE(refused.error().message.find("uid 1001 already has 3 runs queued"),
            std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("max-queued-per-user"), std::string::npos)
      << refused.error().message;
  auto other_job = submit_as(*queue, k_alice, "web", succeed());
  ASSERT_FALSE(other_job); // the bound is per caller, over all jobs
  EXPECT_EQ(m_history->size(), recorded);
  EXPECT_EQ(queue->active().size(), 4u);

  // Another user and root are not affected by Alice's queue.
  EXPECT_TRUE(submit_as(*queue, k_bob, "user-1002", succeed()));
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(submit_as(*queue, 0, "user-0", succeed()));
  }
  release.open();
  queue->wait_idle();
  // Once her runs have started, Alice may queue again.
  EXPECT_TRUE(submit_as(*queue, k_alice, "user-1001", succeed()));
  queue->wait_idle();
}

TEST_F(AFairRunQueue, CountsOnlyQueuedRunsAgainstTheLimit) {
  auto queue = make_queue(2, 1);
  Gate started_a, started_b, release;
  // Two of Alice's runs of different jobs: one runs (the user's worker), one waits.
  ASSERT_TRUE(submit_as(*queue, k_alice, "a", hold(started_a, release)));
  ASSERT_TRUE(started_a.wait_bounded());
  ASSERT_TRUE(submit_as(*queue, k_alice, "b", hold(started_b, release)));
  // The running one does not count: the queued one reaches the limit of 1.
  EXPECT_FALSE(submit_as(*queue, k_alice, "c", succeed()));
  release.open();
  queue->wait_idle();
}

TEST_F(AFairRunQueue, KeepsOneWorkerForPriorityRunsWhileUsersFlood) {
  auto queue = make_queue(2);
  Gate started, release, never;
  auto first = submit_as(*queue, k_alice, "a", hold(started, release));
  ASSERT_TRUE(first);
  ASSERT_TRUE(started.wait_bounded());
  // Bob's run of another job could take the second worker, but that one is
  // kept for priority runs: it waits.
  auto second = submit_as(*queue, k_bob, "b", hold(never, release));
  ASSERT_TRUE(second);
  Gate scheduled_ran, root_ran;
  ASSERT_TRUE(submit_as(
      *queue, 0, "nightly",
      [&](RunContext&) {
        scheduled_ran.open();
        return RunOutcome{};
      },
      true));
  EXPECT_TRUE(scheduled_ran.wait_bounded());
  ASSERT_TRUE(submit_as(*queue, 0, "root-job", [&](RunContext&) {
    root_ran.open();
    return RunOutcome{};
  }));
  EXPECT_TRUE(root_ran.wait_bounded());
  EXPECT_EQ(queue->get(*second)->state, RunState::Queued);
  release.open();
  queue->wait_idle();
  EXPECT_EQ(m_history->find(*second)->state, RunState::Succeeded);
}

TEST_F(AFairRunQueue, StartsScheduledAndRootRunsBeforeQueuedUserRuns) {
  auto queue = make_queue(1);
  StartOrder order;
  Gate started, release;
  ASSERT_TRUE(submit_as(*queue, k_alice, "hold", hold(started, release)));
  ASSERT_TRUE(started.wait_bounded());
  ASSERT_TRUE(submit_as(*queue, k_alice, "a1", order.work("a1")));
  ASSERT_TRUE(submit_as(*queue, k_bob, "b1", order.work("b1")));
  ASSERT_TRUE(submit_as(*queue, 0, "nightly", order.work("scheduled"), true));
  ASSERT_TRUE(submit_as(*queue, 0, "root-job", order.work("root")));
  release.open();
  queue->wait_idle();
  // Then the users' runs, Bob first: Alice's run was the last to start.
  EXPECT_EQ(order.started(), (std::vector<std::string>{"scheduled", "root", "b1", "a1"}));
}

TEST_F(AFairRunQueue, LetsUsersTakeTurns) {
  auto queue = make_queue(1);
  StartOrder order;
  Gate started, release;
  ASSERT_TRUE(submit_as(*queue, 0, "hold", hold(started, release)));
  ASSERT_TRUE(started.wait_bounded());
  for (const auto* name : {"a1", "a2", "a3"}) {
    ASSERT_TRUE(submit_as(*queue, k_alice, name, order.work(name)));
  }
  ASSERT_TRUE(submit_as(*queue, k_carol, "c1", order.work("c1")));
  ASSERT_TRUE(submit_as(*queue, k_carol, "c2", order.work("c2")));
  ASSERT_TRUE(submit_as(*queue, k_bob, "b1", order.work("b1")));
  release.open();
  queue->wait_idle();
  EXPECT_EQ(order.started(),
            (std::vector<std::string>{"a1", "b1", "c1", "a2", "c2", "a3"}));
}

TEST_F(AFairRunQueue, StillRunsOneUsersRunsOfAJobInSubmissionOrder) {
  auto queue = make_queue(2);
  StartOrder order;
  for (int i = 0; i < 6; ++i) {
    const auto name = std::to_string(i);
    ASSERT_TRUE(submit_as(*queue, k_alice, "user-1001", order.work(name)));
  }
  queue->wait_idle();
  EXPECT_EQ(order.started(), (std::vector<std::string>{"0", "1", "2", "3", "4", "5"}));
}

TEST_F(AFairRunQueue, StillSkipsAScheduledRunOfAJobAUserKeepsBusy) {
  auto queue = make_queue(2);
  Gate started, release;
  auto user_run = submit_as(*queue, k_alice, "shared", hold(started, release));
  ASSERT_TRUE(started.wait_bounded());
  auto scheduled = submit_as(*queue, 0, "shared", succeed(), true);
  ASSERT_TRUE(scheduled);
  EXPECT_EQ(queue->get(*scheduled)->state, RunState::Skipped);
  release.open();
  queue->wait_idle();
}

TEST_F(AFairRunQueue, RecordsAPidInTheHistoryWhileTheRunGoesOn) {
  auto queue = make_queue(1);
  Gate recorded, release;
  auto run = submit(*queue, "web", [&](RunContext& context) {
    context.record_pid(::getpid());
    recorded.open();
    release.wait();
    return RunOutcome{RunState::Succeeded, "", ::getpid(), ""};
  });
  ASSERT_TRUE(recorded.wait_bounded());
  auto running = m_history->find(run);
  ASSERT_TRUE(running);
  EXPECT_EQ(running->state, RunState::Running);
  EXPECT_EQ(running->pid, ::getpid());
  EXPECT_FALSE(running->pid_identity.empty());
  EXPECT_EQ(running->pid_identity, process_identity(::getpid()));
  EXPECT_EQ(queue->get(run)->pid, ::getpid());
  release.open();
  queue->wait_idle();
  EXPECT_EQ(m_history->find(run)->pid_identity, running->pid_identity);
}

} // namespace
} // namespace stasis::manager
