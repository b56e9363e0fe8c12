// Idle cost of the scheduler: 1,000 jobs due over the next hours, one worker
// thread waiting for the earliest. Prints the process CPU share over ~2 s.
#include "manager/scheduler.hpp"

#include <chrono>
#include <cstdio>
#include <sys/resource.h>
#include <thread>

namespace {

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

} // namespace

int main() {
  using namespace std::chrono_literals;
  using stasis::manager::ScheduledJob;
  using stasis::manager::TimePoint;
  stasis::manager::SystemClock clock;
  stasis::manager::Scheduler scheduler(clock, [](const std::string&, TimePoint) {});
  std::vector<ScheduledJob> jobs;
  for (int i = 0; i < 1000; ++i) {
    auto period = std::chrono::minutes(10 + i);
    jobs.push_back(ScheduledJob{"job-" + std::to_string(i),
                                "v1",
                                [period](TimePoint after, std::optional<TimePoint>) {
                                  return std::optional(after + period);
                                },
                                std::chrono::minutes(5),
                                true,
                                {}});
  }
  scheduler.set_jobs(std::move(jobs));
  scheduler.start();
  std::this_thread::sleep_for(100ms); // let the worker settle into its wait
  const double cpu_before = cpu_seconds();
  const auto wall_before = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);
  const double cpu = cpu_seconds() - cpu_before;
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before)
          .count();
  scheduler.stop();
  std::printf("scheduler_idle_cpu_percent_1000_jobs=%.4f\n", 100.0 * cpu / wall);
  return 0;
}
