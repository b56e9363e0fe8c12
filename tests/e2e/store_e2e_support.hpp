// Shared helpers of the store's e2e tests: raw criu dump/restore around a
// Store in a temporary state dir.
#pragma once

#include "store/store.hpp"
#include "tests/support/workload.hpp"

#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::store::e2e {

using namespace std::chrono_literals;
using test::Workload;

// The last lines of a CRIU log, for failure messages.
inline std::string log_tail(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  std::string out;
  for (std::size_t i = lines.size() > 8 ? lines.size() - 8 : 0; i < lines.size(); ++i) {
    out += lines[i] + "\n";
  }
  return out;
}

class StoreE2e : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0U) << "the e2e tier must run as root";
    ASSERT_TRUE(std::filesystem::exists(test::criu_binary()))
        << "criu not found at " << test::criu_binary();
  }

  // Dumps the workload (leaving it running) into a fresh dir and returns it.
  std::filesystem::path dump(const Workload& wl) {
    auto dir = m_tmp.path() / ("dump-" + std::to_string(++m_count));
    std::filesystem::create_directories(dir);
    auto r = test::run_command({test::criu_binary().string(), "dump", "-t",
                                std::to_string(wl.pid()), "-D", dir.string(),
                                "--leave-running", "-o", "dump.log"});
    EXPECT_EQ(r.exit_code, 0) << r.error << "\n" << log_tail(dir / "dump.log");
    return dir;
  }

  // Ends the workload's current incarnation and waits until its pid is free.
  void stop(Workload& wl) {
    pid_t pid = wl.pid();
    ::kill(pid, SIGKILL);
    wl.reap_after_dump();
    ASSERT_TRUE(test::wait_pid_free(pid, 10s)) << "pid " << pid << " stays taken";
  }

  // Materializes checkpoint id, restores it with criu and checks the workload.
  void restore_and_check(Store& store, const std::string& job, std::uint64_t id,
                         Workload& wl, std::uint64_t expected_steps) {
    stop(wl);
    auto dir = m_tmp.path() /
               ("restore-" + std::to_string(id) + "-" + std::to_string(++m_count));
    auto m = store.materialize(job, id, dir);
    ASSERT_TRUE(m) << m.error().message;
    // A stale status of the previous incarnation must not answer for this one.
    wl.reset_status();
    auto r = test::run_command({test::criu_binary().string(), "restore", "-d", "-D",
                                dir.string(), "-o", "restore.log"});
    ASSERT_EQ(r.exit_code, 0) << "checkpoint " << id << ": " << r.error << "\n"
                              << log_tail(dir / "restore.log");
    wl.adopt(wl.pid());
    ASSERT_TRUE(wl.wait_for_ticks(1, 10s)) << "checkpoint " << id << " wrote no status";
    EXPECT_EQ(wl.verify(), "") << "checkpoint " << id;
    EXPECT_EQ(wl.status_number("steps"), expected_steps) << "checkpoint " << id;
    std::filesystem::remove_all(dir);
  }

  test::SubreaperScope m_subreaper;
  test::TempDir m_tmp{"stasis-store-e2e"};
  int m_count = 0;
};

} // namespace stasis::store::e2e
