// A subscribed client (stasisctl watch, a desktop client) keeps getting the
// run signals when stasisd restarts: it subscribes to the new one.
#include "tests/dbus/daemon_fixture.hpp"

#include <signal.h>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

class ASubscribedClient : public DaemonTest {};

TEST_F(ASubscribedClient, FollowsStasisdAcrossARestart) {
  write_policy("jobs.yaml", pidfile_job("gone", dir() / "gone.pid"));
  start_daemon();
  auto client = this->client();
  ASSERT_TRUE(client);
  std::vector<manager::RunFinishedEvent> finished;
  client->on_event([&](const manager::Event& event) {
    if (const auto* done = std::get_if<manager::RunFinishedEvent>(&event)) {
      finished.push_back(*done);
    }
  });
  ASSERT_TRUE(client->subscribe());

  ASSERT_EQ(stop_daemon(SIGTERM), 0) << log();
  start_daemon();
  // The new stasisd took the name before it answered: the client learns of
  // it (and subscribes) as soon as it reads its messages.
  ASSERT_TRUE(client->wait_events([] { return false; }, 200ms));
  auto run = client->checkpoint("gone", {});
  ASSERT_TRUE(run) << run.error().message;
  auto got = client->wait_events(
      [&] { return !finished.empty() && finished.back().run == *run; }, 30s);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_TRUE(*got) << "no RunFinished from the restarted stasisd\n" << log();
}

} // namespace
} // namespace stasis::test
