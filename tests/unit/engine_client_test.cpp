// CriuClient against a scripted fake worker: requests, the NOTIFY loop,
// reply checks, failures, timeouts and cancellation.
#include "engine/criu_client.hpp"
#include "tests/unit/engine_fake_worker.hpp"

#include <fcntl.h>
#include <fstream>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::engine {
namespace {

using namespace stasis::engine::testing;

class ACriuClient : public ::testing::Test {
protected:
  DumpOptions dump_options() const {
    DumpOptions options;
    options.pid = ::getppid(); // a process that surely exists
    options.images_dir = m_dir.path() / "images";
    return options;
  }
  RestoreOptions restore_options() const {
    std::filesystem::create_directories(m_dir.path() / "images");
    std::ofstream(m_dir.path() / "images" / "inventory.img") << "x";
    RestoreOptions options;
    options.images_dir = m_dir.path() / "images";
    return options;
  }

  ScratchDir m_dir;
  std::shared_ptr<FakeWorkerState> m_state = std::make_shared<FakeWorkerState>();
  CriuClient m_client = make_fake_client(m_state);
};

TEST_F(ACriuClient, SendsOneDumpRequestWithOpenDirectoryDescriptors) {
  m_state->script.push_back(reply(wire::REQ_DUMP));
  auto result = m_client.dump(dump_options());
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(m_state->requests.size(), 1u);
  const auto& request = m_state->requests[0];
  EXPECT_EQ(request.type(), wire::REQ_DUMP);
  EXPECT_GE(request.opts().images_dir_fd(), 0);
  EXPECT_GE(request.opts().work_dir_fd(), 0);
  EXPECT_EQ(request.opts().log_file(), "dump.log");
  // Always: notifications are where a cancelled dump stops safely.
  EXPECT_TRUE(request.opts().notify_scripts());
  EXPECT_EQ(result->log_file, m_dir.path() / "images" / "dump.log");
  EXPECT_TRUE(std::filesystem::is_directory(m_dir.path() / "images"));
}

TEST_F(ACriuClient, AnswersEveryNotificationAndReturnsTheFinalReply) {
  for (const char* script : {"pre-dump", "network-lock", "post-dump"}) {
    m_state->script.push_back(notify(script, 42));
  }
  m_state->script.push_back(reply(wire::REQ_DUMP));
  std::vector<std::string> seen;
  auto result = m_client.dump(dump_options(), [&](const NotifyEvent& event) {
    seen.push_back(event.script);
    EXPECT_EQ(event.pid, 42);
    return NotifyAnswer::ok();
  });
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(seen, (std::vector<std::string>{"pre-dump", "network-lock", "post-dump"}));
  ASSERT_EQ(m_state->requests.size(), 4u);
  EXPECT_TRUE(m_state->requests[0].opts().notify_scripts());
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(m_state->requests[i].type(), wire::REQ_NOTIFY);
    EXPECT_TRUE(m_state->requests[i].notify_success());
  }
}

TEST_F(ACriuClient, ReportsTheCallbackThatRefusedWhenCriuAborts) {
  m_state->script.push_back(notify("pre-dump"));
  m_state->script.push_back(notify("post-dump"));
  m_state->script.push_back(reply(wire::REQ_DUMP, false));
  auto result = m_client.dump(dump_options(), [](const NotifyEvent& event) {
    return event.script == "post-dump" ? NotifyAnswer::fail("disk is full")
                                       : NotifyAnswer::ok();
  });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::NotifyRefused);
  EXPECT_NE(result.error().message().find("the post-dump callback refused: disk is full"),
            std::string::npos)
      << result.error().message();
  ASSERT_EQ(m_state->requests.size(), 3u);
  EXPECT_TRUE(m_state->requests[1].notify_success());
  EXPECT_FALSE(m_state->requests[2].notify_success());
}

TEST_F(ACriuClient, TreatsAThrowingCallbackAsARefusal) {
  m_state->script.push_back(notify("pre-dump"));
  m_state->script.push_back(reply(wire::REQ_DUMP, false));
  auto result = m_client.dump(dump_options(), [](const NotifyEvent&) -> NotifyAnswer {
    throw std::runtime_error("boom");
  });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::NotifyRefused);
  EXPECT_FALSE(m_state->requests[1].notify_success());
}

TEST_F(ACriuClient, HandsTheDescriptorOfAnOrphanPtsNotificationToTheCallback) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ::close(pipe_fds[1]);
  Step step = notify("orphan-pts-master");
  step.fd = pipe_fds[0];
  m_state->script.push_back(std::move(step));
  Step done = reply(wire::REQ_RESTORE);
  done.reply.mutable_restore()->set_pid(777);
  m_state->script.push_back(done);
  int seen_fd = -2;
  auto result = m_client.restore(restore_options(), [&](const NotifyEvent& event) {
    seen_fd = event.fd;
    return NotifyAnswer::ok();
  });
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(seen_fd, pipe_fds[0]);
  EXPECT_EQ(result->pid, 777);
}

TEST_F(ACriuClient, RejectsAReplyOfTheWrongTypeAndKillsTheWorker) {
  m_state->script.push_back(reply(wire::REQ_RESTORE));
  auto result = m_client.dump(dump_options());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::Protocol);
  EXPECT_NE(result.error().message().find("answered a DUMP request with a RESTORE reply"),
            std::string::npos)
      << result.error().message();
  EXPECT_EQ(m_state->workers_killed, 1);
}

TEST_F(ACriuClient, QuotesTheLastErrorsOfTheCriuLogWhenCriuFails) {
  auto options = dump_options();
  std::filesystem::create_directories(options.images_dir);
  std::ofstream(options.images_dir / "dump.log")
      << "Warn  (criu/kerndat.c:1799): Hardware breakpoints don't seem to work\n"
      << "Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: "
         "Operation not permitted\n"
      << "Error (criu/seize.c:10): Can't seize 123: No such process\n"
      << "Error (criu/cr-dump.c:2000): Dumping FAILED.\n";
  Step failed = reply(wire::REQ_DUMP, false);
  failed.reply.set_cr_errno(ESRCH);
  failed.reply.set_cr_errmsg("Can't seize 123");
  m_state->script.push_back(failed);
  auto result = m_client.dump(options);
  ASSERT_FALSE(result);
  const auto message = result.error().message();
  EXPECT_EQ(result.error().kind, ErrorKind::Criu);
  EXPECT_EQ(
      message.rfind(fmt::format("dump of pid {} failed: CRIU: Can't seize 123: No such "
                                "process; Dumping FAILED.",
                                options.pid),
                    0),
      0u)
      << message;
  EXPECT_NE(message.find("(see " + (options.images_dir / "dump.log").string() + ")"),
            std::string::npos);
  EXPECT_EQ(message.find("rlimit"), std::string::npos);
  EXPECT_EQ(result.error().cr_errno, ESRCH);
}

TEST_F(ACriuClient, LetsSuccessDecideEvenWhenCriuSetsAnErrorMessage) {
  Step done = reply(wire::REQ_DUMP);
  done.reply.set_cr_errmsg("rlimit: Can't setup RLIMIT_NOFILE for self");
  m_state->script.push_back(done);
  EXPECT_TRUE(m_client.dump(dump_options()));
}

TEST_F(ACriuClient, KillsTheWorkerWhenTheDeadlinePasses) {
  m_state->script.push_back(hang());
  RunControl control;
  control.timeout = std::chrono::milliseconds(30);
  auto result = m_client.dump(dump_options(), {}, control);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::TimedOut);
  EXPECT_NE(result.error().message().find("timed out after 30 ms"), std::string::npos)
      << result.error().message();
  EXPECT_EQ(m_state->workers_killed, 1);
}

TEST_F(ACriuClient, KillsTheWorkerWhenCancelled) {
  m_state->script.push_back(hang());
  std::stop_source source;
  RunControl control;
  control.stop = source.get_token();
  std::jthread canceller([&source] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    source.request_stop();
  });
  auto result = m_client.dump(dump_options(), {}, control);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::Cancelled);
  EXPECT_EQ(m_state->workers_killed, 1);
}

// CRIU may hold the tree seized after a dump's notification: a cancel during
// the callback refuses the notification (CRIU rolls back) instead of killing.
TEST_F(ACriuClient, RefusesTheNotificationAfterACancelDuringTheCallback) {
  m_state->script.push_back(notify("post-dump"));
  m_state->script.push_back(reply(wire::REQ_DUMP, false));
  std::stop_source source;
  RunControl control;
  control.stop = source.get_token();
  auto result = m_client.dump(
      dump_options(),
      [&source](const NotifyEvent&) {
        source.request_stop();
        return NotifyAnswer::ok();
      },
      control);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::Cancelled);
  EXPECT_NE(result.error().message().find("cancelled at a safe point"), std::string::npos)
      << result.error().message();
  ASSERT_EQ(m_state->requests.size(), 2u);
  EXPECT_EQ(m_state->requests[1].type(), wire::REQ_NOTIFY);
  EXPECT_FALSE(m_state->requests[1].notify_success()) << "the notification was accepted";
  EXPECT_EQ(m_state->workers_killed, 0);
}

TEST_F(ACriuClient, CountsTheCallbacksTimeAgainstTheDeadline) {
  m_state->script.push_back(notify("post-dump"));
  m_state->script.push_back(reply(wire::REQ_DUMP, false));
  RunControl control;
  control.timeout = std::chrono::milliseconds(20);
  auto result = m_client.dump(
      dump_options(),
      [](const NotifyEvent&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(40));
        return NotifyAnswer::ok();
      },
      control);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::TimedOut);
  ASSERT_EQ(m_state->requests.size(), 2u);
  EXPECT_FALSE(m_state->requests[1].notify_success());
}

TEST_F(ACriuClient, ReportsAWorkerThatDiesWithoutReplying) {
  m_state->script.push_back(die());
  auto result = m_client.dump(dump_options());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::WorkerDied);
  EXPECT_NE(result.error().message().find("exited with status 1"), std::string::npos);
}

TEST_F(ACriuClient, RefusesAPreDumpBeforeStartingItWhenMemoryTrackingIsMissing) {
  Step features = reply(wire::REQ_FEATURE_CHECK);
  features.reply.mutable_features()->set_mem_track(false);
  m_state->script.push_back(features);
  auto result = m_client.pre_dump(dump_options());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::Unsupported);
  EXPECT_NE(result.error().message().find("soft-dirty"), std::string::npos);
  ASSERT_EQ(m_state->requests.size(), 1u);
  EXPECT_EQ(m_state->requests[0].type(), wire::REQ_FEATURE_CHECK);
}

TEST_F(ACriuClient, SendsAPreDumpWithMemoryTrackingWhenCriuHasIt) {
  Step features = reply(wire::REQ_FEATURE_CHECK);
  features.reply.mutable_features()->set_mem_track(true);
  m_state->script.push_back(features);
  m_state->script.push_back(reply(wire::REQ_PRE_DUMP));
  auto result = m_client.pre_dump(dump_options());
  ASSERT_TRUE(result) << result.error().message();
  ASSERT_EQ(m_state->requests.size(), 2u);
  EXPECT_EQ(m_state->requests[1].type(), wire::REQ_PRE_DUMP);
  EXPECT_TRUE(m_state->requests[1].opts().track_mem());
  EXPECT_EQ(m_state->requests[1].opts().log_file(), "pre-dump.log");
}

TEST_F(ACriuClient, RefusesInvalidOptionsWithoutStartingAWorker) {
  auto options = dump_options();
  options.leave_running = true;
  options.leave_stopped = true;
  auto result = m_client.dump(options);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::InvalidOptions);
  EXPECT_EQ(m_state->workers_started, 0);
}

TEST_F(ACriuClient, RefusesToDumpAPidThatDoesNotExist) {
  auto options = dump_options();
  options.pid = 0x3ffffff; // above any pid_max
  auto result = m_client.dump(options);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message().find("no process has pid"), std::string::npos);
  EXPECT_EQ(m_state->workers_started, 0);
}

TEST_F(ACriuClient, FormatsTheVersionAsMajorMinorSublevel) {
  Step version = reply(wire::REQ_VERSION);
  version.reply.mutable_version()->set_major_number(4);
  version.reply.mutable_version()->set_minor_number(2);
  version.reply.mutable_version()->set_sublevel(1);
  m_state->script.push_back(version);
  auto result = m_client.version();
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(*result, "4.2.1");
  EXPECT_TRUE(m_state->specs.at(0).quiet);
}

TEST_F(ACriuClient, ExplainsEveryMissingFeature) {
  Step features = reply(wire::REQ_FEATURE_CHECK);
  features.reply.mutable_features()->set_mem_track(false);
  features.reply.mutable_features()->set_lazy_pages(true);
  m_state->script.push_back(features);
  auto result = m_client.features();
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_FALSE(result->mem_track);
  EXPECT_FALSE(result->mem_track_reason.empty());
  EXPECT_TRUE(result->lazy_pages);
  EXPECT_TRUE(result->lazy_pages_reason.empty());
  EXPECT_TRUE(m_state->requests.at(0).features().mem_track());
  EXPECT_TRUE(m_state->requests.at(0).features().lazy_pages());
}

TEST_F(ACriuClient, PassesInheritedDescriptorsToTheWorker) {
  auto options = restore_options();
  options.inherit_fds.push_back({"pipe:[123]", STDIN_FILENO});
  Step done = reply(wire::REQ_RESTORE);
  done.reply.mutable_restore()->set_pid(55);
  m_state->script.push_back(done);
  auto result = m_client.restore(options);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(m_state->specs.at(0).inherited_fds, std::vector<int>{STDIN_FILENO});
  EXPECT_EQ(m_state->requests.at(0).opts().inherit_fd(0).key(), "pipe:[123]");
}

TEST_F(ACriuClient, RejectsARestoreReplyWithoutAPid) {
  m_state->script.push_back(reply(wire::REQ_RESTORE));
  auto result = m_client.restore(restore_options());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::Protocol);
}

} // namespace
} // namespace stasis::engine
