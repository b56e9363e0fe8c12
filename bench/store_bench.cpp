// Store benchmark: stored bytes of 10 checkpoints of a running workload vs 10
// raw CRIU dumps, ingest throughput, and restore time through the store vs
// from a plain images dir. Prints name=value lines.
//
//   store_bench [--bytes 1G] [--checkpoints 10] [--work-dir DIR] [--restore-dir DIR]
//
// Ingest reads each dump right after CRIU wrote it (page cache warm) and
// includes the fsyncs that make the checkpoint durable. The checkpoint is
// materialized into --restore-dir (default /dev/shm: a throwaway restore dir
// belongs in a tmpfs), the plain restore reads the dump dir in the work dir.
// Machine figures printed alongside (SHA-256 per core, disk write + fsync,
// load average) bound what ingest can reach here.
#include "store/hash.hpp"
#include "store/store.hpp"
#include "tests/support/workload.hpp"

#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <signal.h>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

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

// SHA-256 throughput of one core in GB/s (OpenSSL EVP, 4 KiB blocks as ingest).
double sha256_gb_per_s() {
  std::vector<std::uint8_t> data(64 << 20, 0x5a);
  auto t = Clock::now();
  std::uint8_t sink = 0;
  for (std::size_t off = 0; off < data.size(); off += 4096) {
    sink ^= store::sha256(std::span(data).subspan(off, 4096)).bytes[0];
  }
  double s = seconds_since(t);
  return sink == 0xff ? 0 : static_cast<double>(data.size()) / s / 1e9;
}

// Throughput of writing and fsyncing 256 MiB in dir, in GB/s.
double disk_write_fsync_gb_per_s(const std::filesystem::path& dir) {
  auto path = dir / "disk-probe";
  std::vector<char> block(4 << 20, 'x');
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw std::runtime_error("cannot create " + path.string());
  }
  auto t = Clock::now();
  std::size_t total = 0;
  for (int i = 0; i < 64; ++i) {
    total += static_cast<std::size_t>(
        std::max<ssize_t>(0, ::write(fd, block.data(), block.size())));
  }
  ::fsync(fd);
  double s = seconds_since(t);
  ::close(fd);
  std::filesystem::remove(path);
  return static_cast<double>(total) / s / 1e9;
}

// CPU seconds (user + system) this process has used so far.
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one;
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
  // Drops the parent's fast table before each ingest: the full SHA-256 path
  // of a store written by older code, for comparison in the same run.
  bool without_fast_tables = false;
};

// Runs one scenario; prints its figures; restores through the store when asked.
void run(const Scenario& s, const std::string& bytes, int count,
         const std::filesystem::path& work, const std::filesystem::path& restore_dir,
         bool measure_restore) {
  auto base = work / s.name;
  std::filesystem::remove_all(base);
  auto store = store::Store::open(base / "state").value();
  std::vector<std::string> args{"--bytes", bytes};
  args.insert(args.end(), s.workload_args.begin(), s.workload_args.end());
  auto wl = test::Workload::start("stasis-wl-memory", args, base / "wl");
  std::uint64_t raw_total = 0, first_raw = 0, changed_bytes = 0;
  double first_ingest_s = 0, later_ingest_s = 0, first_cpu_s = 0, later_cpu_s = 0;
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
    if (s.without_fast_tables && k > 0) {
      for (const auto& e :
           std::filesystem::directory_iterator(base / "state" / "jobs" / "bench")) {
        if (e.path().extension() == ".fast") {
          std::filesystem::remove(e.path());
        }
      }
    }
    auto t = Clock::now();
    double cpu = cpu_seconds();
    auto c = store.ingest("bench", dir, {});
    if (!c) {
      throw std::runtime_error(c.error().message);
    }
    double took = seconds_since(t);
    cpu = cpu_seconds() - cpu;
    if (k == 0) {
      first_raw = raw;
      first_ingest_s = took;
      first_cpu_s = cpu;
      first_logical = c->logical_bytes;
    } else {
      later_ingest_s += took;
      later_cpu_s += cpu;
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
            << "\n"
            << p << "first_ingest_s=" << first_ingest_s << "\n"
            << p << "first_ingest_cpu_s=" << first_cpu_s << "\n"
            << p << "later_ingest_s_each=" << later_ingest_s / (count - 1) << "\n"
            << p << "later_ingest_cpu_s_each=" << later_cpu_s / (count - 1) << "\n";
  if (!measure_restore) {
    return;
  }
  // Restore the last checkpoint from the plain dump dir, then through the store.
  double materialize_cpu_s = 0;
  auto restore_once = [&](const std::filesystem::path& dir) {
    pid_t pid = wl.pid();
    ::kill(pid, SIGKILL);
    wl.reap_after_dump();
    if (!test::wait_pid_free(pid, std::chrono::seconds(10))) {
      throw std::runtime_error("pid stays taken");
    }
    wl.reset_status();
    auto t = Clock::now();
    double cpu = cpu_seconds();
    if (dir != last_dump) {
      auto m = store.materialize("bench", count, dir);
      if (!m) {
        throw std::runtime_error(m.error().message);
      }
    }
    double materialize_s = seconds_since(t);
    materialize_cpu_s = cpu_seconds() - cpu;
    criu({"restore", "-d", "-D", dir.string(), "-o", "restore.log"}, dir);
    double total = seconds_since(t);
    wl.adopt(pid);
    if (!wl.wait_for_ticks(1, std::chrono::seconds(10)) || wl.verify() != "") {
      throw std::runtime_error("restored workload fails its check");
    }
    return std::pair{total, materialize_s};
  };
  auto plain = restore_once(last_dump);
  auto materialized = restore_dir / ("stasis-store-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(materialized);
  auto via_store = restore_once(materialized);
  std::filesystem::remove_all(materialized);
  std::cout << p << "restore_plain_s=" << plain.first << "\n"
            << p << "materialize_s=" << via_store.second << "\n"
            << p << "materialize_cpu_s=" << materialize_cpu_s << "\n"
            << p << "restore_via_store_s=" << via_store.first << "\n"
            << p << "restore_ratio=" << via_store.first / plain.first << "\n";
  std::filesystem::remove_all(base);
}

} // namespace

int main(int argc, char** argv) {
  std::string bytes = "1G";
  int count = 10;
  std::filesystem::path work = "/var/tmp/stasis-store-bench";
  std::filesystem::path restore_dir = "/dev/shm";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--bytes") == 0) {
      bytes = argv[i + 1];
    } else if (std::strcmp(argv[i], "--checkpoints") == 0) {
      count = std::stoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--work-dir") == 0) {
      work = argv[i + 1];
    } else if (std::strcmp(argv[i], "--restore-dir") == 0) {
      restore_dir = argv[i + 1];
    }
  }
  try {
    test::SubreaperScope reaper;
    std::filesystem::create_directories(work);
    std::cout << "machine.cpus=" << std::thread::hardware_concurrency() << "\n"
              << "machine.load_average_1m=" << load_average() << "\n"
              << "machine.sha256_gb_per_s_per_core=" << sha256_gb_per_s() << "\n"
              << "machine.disk_write_fsync_gb_per_s=" << disk_write_fsync_gb_per_s(work)
              << "\n"
              << "ingest.page_cache=warm\n"
              << "restore.materialize_dir=" << restore_dir.string() << "\n";
    run({"dirty1pct_full_hash", {"--dirty-percent", "1"}, true}, bytes, count, work,
        restore_dir, false);
    run({"dirty1pct", {"--dirty-percent", "1"}}, bytes, count, work, restore_dir, true);
    run({"grow1pct", {"--dirty-percent", "0", "--grow-percent", "1"}}, bytes, count, work,
        restore_dir, false);
    std::cout << "machine.load_average_1m_end=" << load_average() << "\n";
    std::filesystem::remove_all(work);
  } catch (const std::exception& e) {
    std::cerr << "store_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
