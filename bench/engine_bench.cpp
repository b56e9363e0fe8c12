// engine_bench: checkpoint and restore a stasis-wl-memory workload through
// the engine (CriuClient over `criu swrk`) and through the raw criu CLI, in
// the same run, and print name=value lines (seconds, milliseconds, ratios of
// engine over raw). Run as root:
//
//   engine_bench [--size 1G] [--reps 3] [--dir /var/tmp] [--criu PATH]
//                [--log-level 2] [--keep yes]
#include "engine/criu_client.hpp"
#include "engine/locator.hpp"
#include "tests/support/workload.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

namespace {

using namespace stasis;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Args {
  std::string size = "1G";
  int reps = 3;
  fs::path dir = "/var/tmp";
  std::optional<fs::path> criu;
  int log_level = 2;
  bool keep = false; // keep images and logs (under --dir) for a look
};

// One checkpoint/restore round: wall times and CRIU's frozen time.
struct Round {
  double dump_s = 0;
  double restore_s = 0;
  double frozen_ms = 0;
};

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      throw std::invalid_argument("missing value after " + flag);
    }
    const std::string value = argv[++i];
    if (flag == "--size") {
      args.size = value;
    } else if (flag == "--reps") {
      args.reps = std::stoi(value);
    } else if (flag == "--dir") {
      args.dir = value;
    } else if (flag == "--criu") {
      args.criu = value;
    } else if (flag == "--log-level") {
      args.log_level = std::stoi(value);
    } else if (flag == "--keep") {
      args.keep = value == "yes";
    } else {
      throw std::invalid_argument("unknown option " + flag);
    }
  }
  return args;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Starts the workload, checkpoints it with `dump`, restores it with `restore`
// and checks that it verifies afterwards.
Round run_round(const Args& args, const fs::path& root, const std::string& label,
                const std::function<double(pid_t, const fs::path&)>& dump,
                const std::function<double(const fs::path&)>& restore) {
  const fs::path images = root / (label + "-images");
  fs::remove_all(images);
  fs::create_directories(images);
  auto wl = test::Workload::start("stasis-wl-memory", {"--bytes", args.size},
                                  root / (label + "-workload"));
  if (auto failed = wl.verify(std::chrono::minutes(2)); !failed.empty()) {
    throw std::runtime_error("workload does not verify before the dump: " + failed);
  }
  Round round;
  round.dump_s = dump(wl.pid(), images);
  auto stats = engine::read_dump_stats(images);
  if (!stats) {
    throw std::runtime_error(stats.error().message);
  }
  round.frozen_ms = static_cast<double>(stats->frozen_time.count()) / 1000.0;
  wl.reap_after_dump();
  round.restore_s = restore(images);
  wl.adopt(wl.pid());
  if (auto failed = wl.verify(std::chrono::minutes(2)); !failed.empty()) {
    throw std::runtime_error(label +
                             ": workload does not verify after restore: " + failed);
  }
  wl.terminate();
  if (!args.keep) {
    fs::remove_all(images);
  }
  return round;
}

void print_metric(const char* name, double value) {
  fmt::print("{}={:.3f}\n", name, value);
}

int run(const Args& args) {
  if (::geteuid() != 0) {
    throw std::runtime_error("engine_bench must run as root");
  }
  auto criu = engine::locate_criu(args.criu);
  if (!criu) {
    throw std::runtime_error(criu.error().message);
  }
  test::SubreaperScope subreaper;
  const fs::path root = args.dir / fmt::format("stasis-engine-bench-{}", ::getpid());
  fs::create_directories(root);
  engine::CriuClient client(*criu);

  auto engine_dump = [&client, &args](pid_t pid, const fs::path& images) {
    engine::DumpOptions options;
    options.pid = pid;
    options.images_dir = images;
    options.log_level = args.log_level;
    const auto start = Clock::now();
    auto result = client.dump(options);
    const double took = seconds_since(start);
    if (!result) {
      throw std::runtime_error(result.error().message());
    }
    return took;
  };
  auto engine_restore = [&client, &args](const fs::path& images) {
    engine::RestoreOptions options;
    options.images_dir = images;
    options.log_level = args.log_level;
    const auto start = Clock::now();
    auto result = client.restore(options);
    const double took = seconds_since(start);
    if (!result) {
      throw std::runtime_error(result.error().message());
    }
    return took;
  };
  const std::string criu_path = criu->string();
  const std::string verbosity = fmt::format("-v{}", args.log_level);
  auto raw = [&criu_path, &verbosity](const std::vector<std::string>& command,
                                      const fs::path& images, const char* log) {
    std::vector<std::string> argv;
    argv.reserve(command.size() + 6);
    argv.push_back(criu_path);
    for (const auto& word : command) {
      argv.push_back(word);
    }
    for (const std::string& word :
         {std::string("-D"), images.string(), std::string("-o"), std::string(log)}) {
      argv.push_back(word);
    }
    const auto start = Clock::now();
    auto result = test::run_command(argv, std::chrono::minutes(5));
    const double took = seconds_since(start);
    if (result.exit_code != 0) {
      throw std::runtime_error(fmt::format("criu {} failed ({}); see {}", argv[1],
                                           result.error, (images / log).string()));
    }
    return took;
  };
  auto raw_dump = [&raw](pid_t pid, const fs::path& images) {
    return raw({"dump", "-t", std::to_string(pid)}, images, "dump.log");
  };
  auto raw_restore = [&raw](const fs::path& images) {
    return raw({"restore", "-d"}, images, "restore.log");
  };

  std::vector<double> e_dump, r_dump, e_frozen, r_frozen, e_restore, r_restore;
  for (int rep = 0; rep < args.reps; ++rep) {
    // Alternate the order so neither method always runs on a warmer cache.
    const bool engine_first = rep % 2 == 0;
    for (int turn = 0; turn < 2; ++turn) {
      const bool use_engine = (turn == 0) == engine_first;
      const Round round =
          use_engine ? run_round(args, root, "engine", engine_dump, engine_restore)
                     : run_round(args, root, "raw", raw_dump, raw_restore);
      (use_engine ? e_dump : r_dump).push_back(round.dump_s);
      (use_engine ? e_frozen : r_frozen).push_back(round.frozen_ms);
      (use_engine ? e_restore : r_restore).push_back(round.restore_s);
      std::fprintf(stderr, "rep %d %s: dump %.3f s (frozen %.1f ms), restore %.3f s\n",
                   rep, use_engine ? "engine" : "raw", round.dump_s, round.frozen_ms,
                   round.restore_s);
    }
  }
  if (!args.keep) {
    fs::remove_all(root);
  }

  fmt::print("size={}\nreps={}\n", args.size, args.reps);
  print_metric("engine_dump_s", median(e_dump));
  print_metric("raw_dump_s", median(r_dump));
  print_metric("dump_ratio", median(e_dump) / median(r_dump));
  print_metric("engine_frozen_ms", median(e_frozen));
  print_metric("raw_frozen_ms", median(r_frozen));
  print_metric("frozen_ratio", median(e_frozen) / median(r_frozen));
  print_metric("engine_restore_s", median(e_restore));
  print_metric("raw_restore_s", median(r_restore));
  print_metric("restore_ratio", median(e_restore) / median(r_restore));
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "engine_bench: %s\n", e.what());
    return 1;
  }
}
