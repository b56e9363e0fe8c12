// stasisd end to end: many concurrent Checkpoint calls, none lost, none
// overlapping within a job, and a clean store afterwards.
#include "store/store.hpp"
#include "tests/dbus/daemon_fixture.hpp"

#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;

constexpr int k_jobs = 5;
constexpr int k_threads = 5;
constexpr int k_calls_per_thread = 10;

class ABusyDaemon : public DaemonTest {};

TEST_F(ABusyDaemon, RunsFiftyConcurrentCheckpointsOverFiveJobs) {
  std::vector<Workload> workloads;
  std::string jobs;
  for (int i = 0; i < k_jobs; ++i) {
    const std::string name = "job" + std::to_string(i);
    workloads.push_back(Workload::start("stasis-wl-counter", {}, dir() / name));
    jobs += pidfile_job(name, write_pidfile(name, workloads.back().pid()),
                        "criu:\n  leave-running: true\n");
  }
  write_policy("jobs.yaml", jobs);
  start_daemon({"--max-runs", "3"});

  std::mutex mutex;
  std::vector<std::string> ids;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      auto own = this->client();
      if (!own) {
        std::lock_guard lock(mutex);
        errors.push_back("no client");
        return;
      }
      for (int k = 0; k < k_calls_per_thread; ++k) {
        const std::string job = "job" + std::to_string((t + k) % k_jobs);
        auto run = own->checkpoint(job, {});
        std::lock_guard lock(mutex);
        if (run) {
          ids.push_back(*run);
        } else {
          errors.push_back(run.error().message);
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  ASSERT_TRUE(errors.empty()) << errors.front();
  ASSERT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 50u);

  auto client = this->client();
  ASSERT_TRUE(client);
  std::map<std::string, std::vector<manager::RunInfo>> by_job;
  for (const auto& id : ids) {
    auto run = wait_run(*client, id, 120s);
    EXPECT_EQ(run.state, manager::RunState::Succeeded) << run.error;
    by_job[run.job].push_back(run);
  }
  auto all = client->list_runs("", 0);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 50u);
  ASSERT_EQ(by_job.size(), static_cast<std::size_t>(k_jobs));
  for (auto& [job, runs] : by_job) {
    EXPECT_EQ(runs.size(), 10u) << job;
    std::sort(runs.begin(), runs.end(),
              [](const auto& a, const auto& b) { return *a.started < *b.started; });
    for (std::size_t i = 1; i < runs.size(); ++i) {
      EXPECT_LE(*runs[i - 1].finished, *runs[i].started)
          << job << ": runs " << runs[i - 1].id << " and " << runs[i].id << " overlap";
    }
  }
  for (const auto& workload : workloads) {
    EXPECT_EQ(workload.verify(), "");
  }
  ASSERT_EQ(stop_daemon(SIGTERM), 0) << log();
  auto store = store::Store::open(state_dir());
  ASSERT_TRUE(store) << store.error().message;
  auto fsck = store->fsck();
  ASSERT_TRUE(fsck) << fsck.error().message;
  EXPECT_TRUE(fsck->ok());
  EXPECT_EQ(fsck->checkpoints, 50u);
}

} // namespace
} // namespace stasis::test
