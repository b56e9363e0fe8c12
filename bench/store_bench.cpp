// Store benchmark: stored bytes of 10 checkpoints of a running workload vs 10
// raw CRIU dumps, ingest throughput, and restore time through the store vs
// from a plain images dir. Prints name=value lines.
//
//   store_bench [--bytes 1G] [--checkpoints 10] [--work-dir DIR]
#include "store/store.hpp"
#include "tests/support/workload.hpp"

#include <chrono>
#include <cstring>
#include <iostream>
#include <signal.h>

using namespace stasis;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::uint64_t dir_bytes(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      total += e.file_size();
    }
  }
  return total;
}

void criu(const std::vector<std::string>& args, const std::filesystem::path& log_dir) {
  std::vector<std::string> argv{test::criu_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = test::run_command(argv, std::chrono::minutes(5));
  if (r.exit_code != 0) {
    throw std::runtime_error("criu " + args.at(0) + " failed: " + r.error + " (logs in " +
                             log_dir.string() + ")");
  }
}

struct Scenario {
  std::string name;
  std::vector<std::string> workload_args;
};

// Runs one scenario; prints its figures; restores through the store when asked.
void run(const Scenario& s, const std::string& bytes, int count,
         const std::filesystem::path& work, bool measure_restore) {
  auto base = work / s.name;
  std::filesystem::remove_all(base);
  auto store = store::Store::open(base / "state").value();
  std::vector<std::string> args{"--bytes", bytes};
  args.insert(args.end(), s.workload_args.begin(), s.workload_args.end());
  auto wl = test::Workload::start("stasis-wl-memory", args, base / "wl");
  std::uint64_t raw_total = 0, first_raw = 0, changed_bytes = 0;
  double first_ingest_s = 0, later_ingest_s = 0;
  std::uint64_t later_logical = 0, first_logical = 0;
  std::filesystem::path last_dump;
  for (int k = 0; k < count; ++k) {
    auto dir = base / ("dump-" + std::to_string(k));
    std::filesystem::create_directories(dir);
    criu({"dump", "-t", std::to_string(wl.pid()), "-D", dir.string(), "--leave-running",
          "-o", "dump.log"},
         dir);
    auto raw = dir_bytes(dir);
    raw_total += raw;
    auto t = Clock::now();
    auto c = store.ingest("bench", dir, {});
    if (!c) {
      throw std::runtime_error(c.error().message);
    }
    double took = seconds_since(t);
    if (k == 0) {
      first_raw = raw;
      first_ingest_s = took;
      first_logical = c->logical_bytes;
    } else {
      later_ingest_s += took;
      later_logical += c->logical_bytes;
    }
    if (k + 1 < count) {
      auto before = wl.status_number("dirty_pages") * 4096;
      auto bytes_before = wl.status_number("bytes");
      wl.step();
      changed_bytes += wl.status_number("dirty_pages") * 4096 - before;
      changed_bytes += wl.status_number("bytes") - bytes_before;
    }
    if (!last_dump.empty()) {
      std::filesystem::remove_all(last_dump);
    }
    last_dump = dir;
  }
  auto usage = store.usage().value();
  std::uint64_t stored = usage.pack_bytes + usage.manifest_bytes;
  std::uint64_t ideal = first_raw + changed_bytes;
  auto p = s.name + ".";
  std::cout << p << "checkpoints=" << count << "\n"
            << p << "raw_dump_bytes=" << raw_total << "\n"
            << p << "stored_bytes=" << stored << "\n"
            << p << "ideal_bytes=" << ideal << "\n"
            << p << "smaller_than_raw=" << static_cast<double>(raw_total) / stored << "\n"
            << p << "stored_vs_ideal=" << static_cast<double>(stored) / ideal << "\n"
            << p << "first_ingest_gb_per_s=" << first_logical / first_ingest_s / 1e9
            << "\n"
            << p << "later_ingest_gb_per_s=" << later_logical / later_ingest_s / 1e9
            << "\n";
  if (!measure_restore) {
    return;
  }
  // Restore the last checkpoint from the plain dump dir, then through the store.
  auto restore_once = [&](const std::filesystem::path& dir) {
    pid_t pid = wl.pid();
    ::kill(pid, SIGKILL);
    wl.reap_after_dump();
    if (!test::wait_pid_free(pid, std::chrono::seconds(10))) {
      throw std::runtime_error("pid stays taken");
    }
    std::filesystem::remove(wl.status_file());
    auto t = Clock::now();
    if (dir != last_dump) {
      auto m = store.materialize("bench", count, dir);
      if (!m) {
        throw std::runtime_error(m.error().message);
      }
    }
    double materialize_s = seconds_since(t);
    criu({"restore", "-d", "-D", dir.string(), "-o", "restore.log"}, dir);
    double total = seconds_since(t);
    wl.adopt(pid);
    if (!wl.wait_for_ticks(1, std::chrono::seconds(10)) || wl.verify() != "") {
      throw std::runtime_error("restored workload fails its check");
    }
    return std::pair{total, materialize_s};
  };
  auto plain = restore_once(last_dump);
  auto via_store = restore_once(base / "materialized");
  std::cout << p << "restore_plain_s=" << plain.first << "\n"
            << p << "materialize_s=" << via_store.second << "\n"
            << p << "restore_via_store_s=" << via_store.first << "\n"
            << p << "restore_ratio=" << via_store.first / plain.first << "\n";
  std::filesystem::remove_all(base);
}

} // namespace

int main(int argc, char** argv) {
  std::string bytes = "1G";
  int count = 10;
  std::filesystem::path work = "/var/tmp/stasis-store-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--bytes") == 0) {
      bytes = argv[i + 1];
    } else if (std::strcmp(argv[i], "--checkpoints") == 0) {
      count = std::stoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--work-dir") == 0) {
      work = argv[i + 1];
    }
  }
  try {
    test::SubreaperScope reaper;
    run({"dirty1pct", {"--dirty-percent", "1"}}, bytes, count, work, true);
    run({"grow1pct", {"--dirty-percent", "0", "--grow-percent", "1"}}, bytes, count, work,
        false);
    std::filesystem::remove_all(work);
  } catch (const std::exception& e) {
    std::cerr << "store_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
