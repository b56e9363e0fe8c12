// A run's CRIU logs (manager/run_log.hpp): read like a user's files.
#include "manager/run_log.hpp"
#include "tests/support/temp_dir.hpp"

#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(ARunLog, ShowsEveryLogFileByNameAndNothingForARunWithoutLogs) {
  TempDir dir("stasis-run-log-test");
  EXPECT_FALSE(*manager::read_run_logs(dir.path() / "none"));
  write_file(dir.path() / "restore.log", "(00.000001) restore line\n");
  write_file(dir.path() / "dump.log", "(00.000001) dump line");
  write_file(dir.path() / "notes.txt", "not a log\n");
  auto logs = manager::read_run_logs(dir.path());
  ASSERT_TRUE(logs);
  ASSERT_TRUE(*logs);
  EXPECT_EQ(**logs, "==> dump.log <==\n(00.000001) dump line\n"
                    "==> restore.log <==\n(00.000001) restore line\n");
}

TEST(ARunLog, RefusesSymlinksFifosAndHardLinksThatTheRunsUserMayHavePlanted) {
  TempDir dir("stasis-run-log-test");
  TempDir outside("stasis-run-log-secret");
  write_file(outside.path() / "secret", "root's secret\n");
  ASSERT_EQ(
      ::symlink((outside.path() / "secret").c_str(), (dir.path() / "a.log").c_str()), 0);
  ASSERT_EQ(::mkfifo((dir.path() / "b.log").c_str(), 0600), 0);
  ASSERT_EQ(::link((outside.path() / "secret").c_str(), (dir.path() / "c.log").c_str()),
            0);
  auto logs = manager::read_run_logs(dir.path());
  ASSERT_TRUE(logs) << logs.error().message;
  ASSERT_TRUE(*logs);
  EXPECT_EQ((*logs)->find("secret"), std::string::npos) << **logs;
  EXPECT_EQ(**logs, "==> a.log <==\n[not shown: not a plain log file of the run]\n"
                    "==> b.log <==\n[not shown: not a plain log file of the run]\n"
                    "==> c.log <==\n[not shown: not a plain log file of the run]\n");
  // A run dir that is itself a symlink is not followed either.
  ASSERT_EQ(::symlink(outside.path().c_str(), (dir.path() / "linked").c_str()), 0);
  EXPECT_FALSE(manager::read_run_logs(dir.path() / "linked"));
}

TEST(ARunLog, ShowsTheEndOfALogLongerThanTheLimit) {
  TempDir dir("stasis-run-log-test");
  std::string big(manager::k_max_run_log_bytes + 10, 'x');
  big += "last line\n";
  write_file(dir.path() / "dump.log", big);
  auto logs = manager::read_run_logs(dir.path());
  ASSERT_TRUE(logs && *logs);
  EXPECT_NE((*logs)->find("[the first 20 bytes are left out]\n"), std::string::npos);
  EXPECT_TRUE((*logs)->ends_with("last line\n"));
  EXPECT_LT((*logs)->size(), manager::k_max_run_log_bytes + 100);
}

TEST(ARunLog, ShowsAtMostTheFileLimit) {
  TempDir dir("stasis-run-log-test");
  for (std::size_t i = 0; i < manager::k_max_run_log_files + 2; ++i) {
    write_file(dir.path() / (std::to_string(100 + i) + ".log"), "x\n");
  }
  auto logs = manager::read_run_logs(dir.path());
  ASSERT_TRUE(logs && *logs);
  EXPECT_TRUE((*logs)->starts_with("[18 log files; the first 16 are shown]\n")) << **logs;
  EXPECT_EQ((*logs)->find("==> 117.log <=="), std::string::npos);
  EXPECT_NE((*logs)->find("==> 115.log <=="), std::string::npos);
}

} // namespace
} // namespace stasis::test
