// The daemon at scale: stasisd on a private bus with 1,000 jobs (half on
// demand, half daily). Prints stasisd's CPU share while idle (~5 s, from
// /proc/<pid>/stat) and the median latency of 20 ListJobs calls.
#include "dbus/client.hpp"
#include "tests/dbus/private_bus.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <signal.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
constexpr int k_jobs = 1000;
constexpr int k_files = 10;

// utime + stime of a process, in clock ticks.
long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(in, text);
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long utime = 0;
  long stime = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) {
      utime = std::stol(field);
    } else if (index == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return utime + stime;
}

void write_policies(const fs::path& dir) {
  for (int file = 0; file < k_files; ++file) {
    const auto path = dir / ("jobs-" + std::to_string(file) + ".yaml");
    std::ofstream out(path);
    out << "version: 1\njobs:\n";
    for (int i = file; i < k_jobs; i += k_files) {
      out << "  - name: job-" << i << "\n    target:\n      pid: 1\n";
      if (i % 2 == 1) {
        out << "    schedule:\n      calendar: \"*-*-* 03:" << (i % 60 < 10 ? "0" : "")
            << i % 60 << ":00\"\n";
      }
    }
    out.close();
    ::chmod(path.c_str(), 0644);
  }
}

} // namespace

int main() {
  stasis::test::PrivateBus bus;
  const fs::path dir = bus.dir() / "daemon";
  fs::create_directories(dir / "policy");
  fs::create_directories(dir / "state");
  write_policies(dir / "policy");
  const std::string log = (dir / "stasisd.log").string();
  const pid_t daemon = ::fork();
  if (daemon == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execl(STASISD_PATH, STASISD_PATH, "--bus", bus.address().c_str(), "--policy-dir",
            (dir / "policy").c_str(), "--state-dir", (dir / "state").c_str(), nullptr);
    ::_exit(127);
  }
  std::unique_ptr<stasis::dbus::Client> client;
  std::size_t listed = 0;
  for (int i = 0; i < 300 && listed != k_jobs; ++i) {
    std::this_thread::sleep_for(100ms);
    if (!client) {
      if (auto connected = stasis::dbus::Client::connect(bus.address())) {
        client = std::move(*connected);
      }
    }
    if (client) {
      if (auto jobs = client->list_jobs()) {
        listed = jobs->size();
      }
    }
  }
  int code = 0;
  if (listed != k_jobs) {
    std::fprintf(stderr, "stasisd did not list %d jobs (got %zu); log %s\n", k_jobs,
                 listed, log.c_str());
    code = 1;
  } else {
    std::this_thread::sleep_for(1s);
    const long before = cpu_ticks(daemon);
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(5s);
    const long after = cpu_ticks(daemon);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double percent =
        100.0 * static_cast<double>(after - before) / ::sysconf(_SC_CLK_TCK) / seconds;
    std::vector<double> latencies;
    for (int i = 0; i < 20; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      auto jobs = client->list_jobs();
      const auto t1 = std::chrono::steady_clock::now();
      if (!jobs || jobs->size() != k_jobs) {
        std::fprintf(stderr, "ListJobs failed\n");
        code = 1;
        break;
      }
      latencies.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(latencies.begin(), latencies.end());
    std::printf("daemon_idle_cpu_percent_1000_jobs=%.2f\n", percent);
    if (!latencies.empty()) {
      std::printf("listjobs_latency_ms_1000_jobs=%.1f\n",
                  (latencies[9] + latencies[10]) / 2);
    }
  }
  client.reset();
  ::kill(daemon, SIGTERM);
  ::waitpid(daemon, nullptr, 0);
  return code;
}
