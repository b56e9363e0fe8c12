// Manager events announced from worker threads arrive as signals, in order,
// with the right arguments, at the connections that subscribed.
#include "dbus/names.hpp"
#include "dbus/subscribers.hpp"
#include "tests/dbus/service_fixture.hpp"

#include <chrono>
#include <thread>

namespace stasis::test {
namespace {

using namespace manager;
using ASignal = ServiceFixture;
using namespace std::chrono_literals;

TEST_F(ASignal, ArrivesForEveryEventKindWithItsArguments) {
  ASSERT_TRUE(m_client->subscribe());
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
  ASSERT_TRUE(m_client->subscribe());
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

TEST_F(ASignal, AboutRunsReachesOnlySubscribedConnections) {
  auto other = dbus::Client::connect(m_bus.address());
  ASSERT_TRUE(other);
  std::vector<Event> mine;
  std::vector<Event> theirs;
  m_client->on_event([&](const Event& event) { mine.push_back(event); });
  (*other)->on_event([&](const Event& event) { theirs.push_back(event); });
  ASSERT_TRUE(m_client->subscribe());

  // Signals from one sender arrive in order: once JobsChanged (broadcast) is
  // in, whatever was sent before it is in too.
  auto announce_all = [this] {
    m_manager.announce(RunStartedEvent{"run-1", "web", RunKind::Checkpoint});
    m_manager.announce(RunProgressEvent{"run-1", "dumping", 1, 2, "web"});
    m_manager.announce(RunFinishedEvent{"run-1", "web", RunKind::Checkpoint,
                                        RunState::Succeeded, "7", ""});
    m_manager.announce(CheckpointsChangedEvent{"web"});
    m_manager.announce(JobsChangedEvent{});
  };
  auto jobs_changed_in = [](const std::vector<Event>& events) {
    return !events.empty() && std::holds_alternative<JobsChangedEvent>(events.back());
  };
  announce_all();
  ASSERT_TRUE(*m_client->wait_events([&] { return jobs_changed_in(mine); }, 10s));
  ASSERT_TRUE(*(*other)->wait_events([&] { return jobs_changed_in(theirs); }, 10s));
  EXPECT_EQ(mine.size(), 5u);
  EXPECT_EQ(theirs.size(), 1u) << "a connection that did not subscribe got run signals";

  // After Unsubscribe only JobsChanged comes.
  ASSERT_TRUE(m_client->unsubscribe());
  mine.clear();
  announce_all();
  ASSERT_TRUE(*m_client->wait_events([&] { return jobs_changed_in(mine); }, 10s));
  EXPECT_EQ(mine.size(), 1u);
}

TEST_F(ASignal, AddressedToASubscriberByAnotherPeerIsIgnored) {
  std::vector<Event> received;
  m_client->on_event([&](const Event& event) { received.push_back(event); });
  ASSERT_TRUE(m_client->subscribe());

  // The client's unique name: the one on the bus that is neither stasisd's
  // nor the raw connection's.
  auto bus = sdbus::createProxy(*m_raw_connection, "org.freedesktop.DBus",
                                "/org/freedesktop/DBus");
  std::vector<std::string> names;
  bus->callMethod("ListNames").onInterface("org.freedesktop.DBus").storeResultsTo(names);
  std::string stasisd;
  bus->callMethod("GetNameOwner")
      .onInterface("org.freedesktop.DBus")
      .withArguments(std::string(dbus::k_bus_name))
      .storeResultsTo(stasisd);
  std::vector<std::string> others;
  for (const auto& name : names) {
    if (name.starts_with(':') && name != stasisd &&
        name != m_raw_connection->getUniqueName()) {
      others.push_back(name);
    }
  }
  ASSERT_EQ(others.size(), 1u);

  // Another peer forges a RunFinished addressed to the client; a round trip
  // to the bus makes sure the bus passed it on before stasisd's JobsChanged.
  auto forger = sdbus::createObject(*m_raw_connection, dbus::k_object_path);
  auto forged = forger->createSignal(dbus::k_interface, "RunFinished");
  forged << std::string("run-1") << std::string("web") << std::string("checkpoint")
         << std::string("succeeded") << std::string("666") << std::string("");
  forged.setDestination(others.front());
  forger->emitSignal(forged);
  std::string id;
  bus->callMethod("GetId").onInterface("org.freedesktop.DBus").storeResultsTo(id);
  m_manager.announce(JobsChangedEvent{});

  auto done = m_client->wait_events(
      [&] {
        return !received.empty() &&
               std::holds_alternative<JobsChangedEvent>(received.back());
      },
      10s);
  ASSERT_TRUE(done && *done);
  EXPECT_EQ(received.size(), 1u) << "the forged RunFinished was delivered";
}

TEST_F(ASignal, SubscriptionsOfOneUidStopAtTheLimitAndEndWithTheirConnection) {
  std::vector<std::unique_ptr<dbus::Client>> clients;
  for (std::size_t i = 0; i < dbus::k_max_subscriptions_per_uid; ++i) {
    auto client = dbus::Client::connect(m_bus.address());
    ASSERT_TRUE(client);
    ASSERT_TRUE((*client)->subscribe()) << "subscription " << i;
    ASSERT_TRUE((*client)->subscribe()) << "subscribing again is no error";
    clients.push_back(std::move(*client));
  }
  auto refused = m_client->subscribe();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().name, "io.stasis.Stasis1.Error.Busy");
  EXPECT_NE(refused.error().message.find("16 subscribed connections"), std::string::npos)
      << refused.error().message;

  // A closed connection leaves the bus; stasisd forgets its subscription.
  clients.pop_back();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  auto accepted = m_client->subscribe();
  while (!accepted && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    accepted = m_client->subscribe();
  }
  EXPECT_TRUE(accepted) << accepted.error().message;
}

TEST_F(ASignal, WaitReturnsFalseWhenNothingArrivesInTime) {
  auto done = m_client->wait_events([] { return false; }, 50ms);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_FALSE(*done);
}

} // namespace
} // namespace stasis::test
