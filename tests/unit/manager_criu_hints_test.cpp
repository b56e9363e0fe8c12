// CRIU's complaints about missing options become sentences naming policy keys.
#include "manager/criu_hints.hpp"

#include <gtest/gtest.h>

namespace stasis::manager {
namespace {

bool names(const std::string& text, const std::string& key) {
  return text.find(key) != std::string::npos;
}

TEST(APolicyHint, NamesShellJobForADanglingTty) {
  const auto hint = policy_hint(
      {"tty: Found dangling tty with sid 31970 pgid 31970 (pts) on peer fd 0.",
       "Dumping FAILED."},
      "loop");
  EXPECT_TRUE(names(hint, "criu.shell-job: true")) << hint;
  EXPECT_TRUE(names(hint, "job 'loop'")) << hint;
}

TEST(APolicyHint, NamesFileLocksForHeldLocks) {
  const auto hint = policy_hint({"Some file locks are hold by dumping tasks! You can "
                                 "try --file-locks to dump them."},
                                "db");
  EXPECT_TRUE(names(hint, "criu.file-locks: true")) << hint;
}

TEST(APolicyHint, NamesTcpEstablishedForConnectedSockets) {
  const auto hint = policy_hint(
      {"inet: Connected TCP socket, consider using --tcp-established option."}, "web");
  EXPECT_TRUE(names(hint, "criu.tcp-established: true")) << hint;
}

TEST(APolicyHint, OffersTcpCloseBesideTcpEstablishedForConnectedSockets) {
  const auto hint = policy_hint(
      {"inet: Connected TCP socket, consider using --tcp-established option."}, "web");
  EXPECT_TRUE(names(hint, "criu.tcp-close: true")) << hint;
}

TEST(APolicyHint, AsksForNoTcpKeyWhenTheJobAlreadyClosesItsConnections) {
  const auto hint = policy_hint(
      {"inet: Connected TCP socket, consider using --tcp-established option."}, "web",
      {.tcp_close = true});
  EXPECT_FALSE(names(hint, "criu.tcp-established")) << hint;
}

TEST(APolicyHint, NamesTcpSkipInFlightForInFlightConnections) {
  const auto hint = policy_hint({"inet: In-flight connection (l) for 1f2e3",
                                 "inet: In-flight connections can be ignored with the "
                                 "--skip-in-flight option."},
                                "web");
  EXPECT_TRUE(names(hint, "set `criu.tcp-skip-in-flight: true`")) << hint;
  EXPECT_TRUE(names(hint, "job 'web'")) << hint;
}

TEST(APolicyHint, NamesRestoreTcpCloseForACheckpointTakenWithTcpClose) {
  const auto hint = policy_hint(
      {"Error (criu/image.c:94): Need to set the --tcp-close options."}, "web");
  EXPECT_TRUE(names(hint, "set `restore.tcp-close: true`")) << hint;
}

TEST(APolicyHint, NamesExtUnixSkForExternalSockets) {
  const auto hint = policy_hint(
      {"unix: External socket is used. Consider using --ext-unix-sk option."}, "app");
  EXPECT_TRUE(names(hint, "criu.ext-unix-sk: true")) << hint;
}

TEST(APolicyHint, NamesThePeerPathOfAHalfStreamConnection) {
  const auto hint = policy_hint({"unix: Can't dump half of stream unix connection. "
                                 "name: (null); peer name: /run/app.sock"},
                                "app");
  EXPECT_TRUE(names(hint, "criu.external-unix-sockets: [{path: /run/app.sock}]")) << hint;
}

TEST(APolicyHint, AsksForATerminalWhenAShellJobHasNoneToAttachTo) {
  const auto hint = policy_hint(
      {"tty: Don't have tty to inherit session from, aborting", "Restoring FAILED."},
      "loop");
  EXPECT_TRUE(names(hint, "run `stasisctl restore` in a terminal")) << hint;
  EXPECT_FALSE(names(hint, "set `")) << hint;
}

TEST(APolicyHint, NamesOrphanPtsMasterWhenAShellJobsLeaderIsMissing) {
  const auto hint =
      policy_hint({"tty: No task found with sid 4242", "Restoring FAILED."},
                  "editor-session", {.shell_job = true, .orphan_pts_master = true});
  EXPECT_TRUE(names(hint, "remove `restore.orphan-pts-master: true`")) << hint;
  EXPECT_FALSE(names(hint, "set `criu.shell-job: true`")) << hint;
}

TEST(APolicyHint, NeverAsksAShellJobForTheShellJobKey) {
  const auto hint =
      policy_hint({"tty: No task found with sid 4242"}, "loop", {.shell_job = true});
  EXPECT_FALSE(names(hint, "set `criu.shell-job: true`")) << hint;
  EXPECT_TRUE(names(hint, "session leader")) << hint;
}

TEST(ARunErrorMessage, SaysCriuKilledTheHalfRestoredTree) {
  const auto errors = engine::parse_log_errors(
      "(00.1) 4242: Error (criu/tty.c:1010): Don't have tty to inherit session from, "
      "aborting\n(00.2) Error (criu/cr-restore.c:1262): 4242 killed by signal 9: "
      "Killed\n",
      10);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_TRUE(names(errors[1], "CRIU killed process 4242 of the tree it had half "
                               "restored"))
      << errors[1];
}

TEST(APolicyHint, IsEmptyForUnknownErrors) {
  EXPECT_EQ(policy_hint({"Can't open something", "Dumping FAILED."}, "x"), "");
  EXPECT_EQ(policy_hint({}, "x"), "");
}

TEST(ARunErrorMessage, LeadsWithTheHintAndKeepsCriusWords) {
  engine::EngineError error(engine::ErrorKind::Criu, "dump of pid 12 failed");
  error.log_errors = {"Some file locks are hold by dumping tasks! You can try "
                      "--file-locks to dump them."};
  error.log_file = "/var/lib/stasis/logs/1/dump.log";
  const auto message = run_error_message(error, "db");
  EXPECT_EQ(message.find("dump of pid 12 failed: the process holds file locks"), 0u)
      << message;
  EXPECT_TRUE(names(message, "CRIU: Some file locks are hold")) << message;
  EXPECT_TRUE(names(message, "(see /var/lib/stasis/logs/1/dump.log)")) << message;
}

TEST(ARunErrorMessage, IsTheEngineMessageWithoutAHint) {
  engine::EngineError error(engine::ErrorKind::Criu, "dump of pid 12 failed");
  error.log_errors = {"Can't open something"};
  EXPECT_EQ(run_error_message(error, "x"), error.message());
}

} // namespace
} // namespace stasis::manager
