// EngineError messages and the CRIU log parsing behind them.
#include "engine/engine_error.hpp"
#include "tests/unit/engine_fake_worker.hpp"

#include <fstream>

#include <gtest/gtest.h>

namespace stasis::engine {
namespace {

TEST(TheCriuLogParser, ReturnsErrorTextsWithoutTheirPrefixes) {
  const auto errors = parse_log_errors(
      "(00.001000) Warn  (criu/kerndat.c:1): noise\n"
      "(00.002000) Error (criu/files-reg.c:2): Can't open file x: Permission denied\n"
      "(00.003000)    123: Error (criu/cr-restore.c:3): Restoring FAILED.\n");
  EXPECT_EQ(errors, (std::vector<std::string>{"Can't open file x: Permission denied",
                                              "Restoring FAILED."}));
}

TEST(TheCriuLogParser, SkipsTheHarmlessRlimitError) {
  const auto errors = parse_log_errors("Error (criu/util.c:1534): rlimit: Can't setup "
                                       "RLIMIT_NOFILE for self: Operation not "
                                       "permitted\n");
  EXPECT_TRUE(errors.empty());
}

TEST(TheCriuLogParser, KeepsOnlyTheLastErrors) {
  std::string log;
  for (int i = 0; i < 8; ++i) {
    log += fmt::format("Error (x.c:{}): problem {}\n", i, i);
  }
  const auto errors = parse_log_errors(log, 3);
  EXPECT_EQ(errors, (std::vector<std::string>{"problem 5", "problem 6", "problem 7"}));
}

TEST(TheCriuLogParser, ReadsTheLogFile) {
  testing::ScratchDir dir;
  std::ofstream(dir.path() / "dump.log") << "Error (a.c:1): first\nError (a.c:2): second";
  EXPECT_EQ(read_log_errors(dir.path() / "dump.log"),
            (std::vector<std::string>{"first", "second"}));
  EXPECT_TRUE(read_log_errors(dir.path() / "missing.log").empty());
}

TEST(AnEngineError, SaysWhatFailedWhyAndWhereToLook) {
  EngineError error(ErrorKind::Criu, "dump of pid 123 failed");
  error.log_errors = {"Can't seize 123: Operation not permitted"};
  error.log_file = "/run/x/dump.log";
  EXPECT_EQ(error.message(),
            "dump of pid 123 failed: CRIU: Can't seize 123: Operation not "
            "permitted (see /run/x/dump.log)");
  EXPECT_EQ(error.describe(), error.message());
}

TEST(AnEngineError, FallsBackToCriusMessageAndErrno) {
  EngineError error(ErrorKind::Criu, "restore from /x failed");
  error.cr_errmsg = "Can't restore";
  error.cr_errno = EEXIST;
  EXPECT_EQ(error.message(),
            "restore from /x failed: CRIU: Can't restore - errno 17 (File "
            "exists)");
}

TEST(AnEngineError, IgnoresTheHarmlessRlimitMessage) {
  EngineError error(ErrorKind::Criu, "dump of pid 1 failed");
  error.cr_errmsg = "rlimit: Can't setup RLIMIT_NOFILE for self";
  EXPECT_EQ(error.message(), "dump of pid 1 failed: criu failed");
}

TEST(AnEngineError, PutsOurReasonBeforeCriusLog) {
  EngineError error(ErrorKind::NotifyRefused, "dump of pid 1 failed",
                    "the post-dump callback refused");
  error.log_errors = {"Dumping FAILED."};
  EXPECT_EQ(
      error.message(),
      "dump of pid 1 failed: the post-dump callback refused; CRIU: Dumping FAILED.");
}

TEST(TheHints, ExplainAPidThatIsStillTaken) {
  EXPECT_EQ(hint_for({"Can't fork for 3734: File exists", "Restoring FAILED."}),
            "pid 3734 of the dumped tree is taken by another process (is the original "
            "still running?)");
  EXPECT_EQ(hint_for({"Restoring FAILED."}), "");
}

} // namespace
} // namespace stasis::engine
