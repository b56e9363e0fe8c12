// Manager events announced from worker threads arrive as signals, in order,
// with the right arguments.
#include "tests/dbus/service_fixture.hpp"

#include <chrono>
#include <thread>

namespace stasis::test {
namespace {

using namespace manager;
using ASignal = ServiceFixture;
using namespace std::chrono_literals;

TEST_F(ASignal, ArrivesForEveryEventKindWithItsArguments) {
  std::vector<Event> received;
  m_client->on_event([&](const Event& event) { received.push_back(event); });

  std::thread worker([this] {
    m_manager.announce(RunStartedEvent{"run-1", "web", RunKind::Checkpoint});
    m_manager.announce(RunProgressEvent{"run-1", "dumping", 3, 10});
    m_manager.announce(RunFinishedEvent{"run-1", "web", RunKind::Checkpoint,
                                        RunState::Failed, "ckpt-7", "criu said no"});
    m_manager.announce(CheckpointsChangedEvent{"web"});
    m_manager.announce(JobsChangedEvent{});
  });
  worker.join();

  auto done = m_client->wait_events([&] { return received.size() >= 5; }, 5s);
  ASSERT_TRUE(done) << done.error().message;
  ASSERT_TRUE(*done) << "got " << received.size() << " of 5 signals";

  const auto& started = std::get<RunStartedEvent>(received[0]);
  EXPECT_EQ(started.run, "run-1");
  EXPECT_EQ(started.job, "web");
  EXPECT_EQ(started.kind, RunKind::Checkpoint);
  const auto& progress = std::get<RunProgressEvent>(received[1]);
  EXPECT_EQ(progress.phase, "dumping");
  EXPECT_EQ(progress.done, 3u);
  EXPECT_EQ(progress.total, 10u);
  const auto& finished = std::get<RunFinishedEvent>(received[2]);
  EXPECT_EQ(finished.run, "run-1");
  EXPECT_EQ(finished.result, RunState::Failed);
  EXPECT_EQ(finished.checkpoint, "ckpt-7");
  EXPECT_EQ(finished.error, "criu said no");
  EXPECT_EQ(std::get<CheckpointsChangedEvent>(received[3]).job, "web");
  EXPECT_TRUE(std::holds_alternative<JobsChangedEvent>(received[4]));
}

TEST_F(ASignal, FromManyThreadsAllArrive) {
  constexpr int k_threads = 4;
  constexpr int k_per_thread = 50;
  int progress = 0;
  m_client->on_event([&](const Event& event) {
    progress += std::holds_alternative<RunProgressEvent>(event) ? 1 : 0;
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < k_threads; ++t) {
    workers.emplace_back([this, t] {
      for (int i = 0; i < k_per_thread; ++i) {
        m_manager.announce(RunProgressEvent{"run-" + std::to_string(t), "dumping",
                                            static_cast<std::uint64_t>(i), k_per_thread});
      }
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
  auto done =
      m_client->wait_events([&] { return progress == k_threads * k_per_thread; }, 5s);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_TRUE(*done) << "got " << progress;
}

TEST_F(ASignal, WaitReturnsFalseWhenNothingArrivesInTime) {
  auto done = m_client->wait_events([] { return false; }, 50ms);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_FALSE(*done);
}

} // namespace
} // namespace stasis::test
