// Lazy restore and streaming checkpoint benchmark. Prints name=value lines.
//
//   lazy_bench [--bytes 1G] [--work-dir DIR]
//
// Resume: a stasis-wl-memory of --bytes restored lazily from the store (stasis
// serves the pages to CRIU's lazy-pages daemon) vs a full `criu restore` from a
// plain images dir; also the time until every page is in.
// Dump: streaming checkpoints into the store (criu dump --page-server to
// stasis), a first one and a next one (pages already stored), vs `criu dump`
// to a local dir, and vs that dump plus an ingest into a store in the same
// state. stasis's own CPU time of a streaming checkpoint is printed too.
// Registry: the stored checkpoint pushed to a real docker-registry on loopback
// (TLS, the tests' TestRegistry) and restored lazily from there (issue 15:
// small images first, pages by HTTP Range requests and the background fill)
// vs the lazy restore from the local store, in the same run.
#include "engine/lazy_pages.hpp"
#include "remote/remote.hpp"
#include "store/lazy_source.hpp"
#include "store/page_server_socket.hpp"
#include "store/page_server_stream.hpp"
#include "tests/support/registry.hpp"
#include "tests/support/workload.hpp"

#include <chrono>
#include <future>
#include <iostream>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace stasis;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// Every timed phase starts with no dirty pages: otherwise it pays for writing
// back the previous phase's gigabyte (the kernel throttles writers to the
// disk's speed once enough is dirty).
Clock::time_point start_clock() {
  ::sync();
  return Clock::now();
}

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void criu(const std::vector<std::string>& args, const std::filesystem::path& logs) {
  std::vector<std::string> argv{test::criu_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = test::run_command(argv, std::chrono::minutes(5));
  if (r.exit_code != 0) {
    throw std::runtime_error("criu " + args.at(0) + " failed: " + r.error + " (logs in " +
                             logs.string() + ")");
  }
}

template <typename T>
T must(Result<T> r, const char* what) {
  if (!r) {
    throw std::runtime_error(std::string(what) + ": " + r.error().message);
  }
  return std::move(*r);
}

std::uint64_t pages_file_bytes(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with("pages-")) {
      total += e.file_size();
    }
  }
  return total;
}

void stop(test::Workload& wl) {
  pid_t pid = wl.pid();
  ::kill(pid, SIGKILL);
  wl.reap_after_dump();
  if (!test::wait_pid_free(pid, 10s)) {
    throw std::runtime_error("pid stays taken");
  }
}

void print(const std::string& name, double value) {
  std::cout << name << "=" << value << std::endl;
}

} // namespace

int main(int argc, char** argv) try {
  std::string bytes = "1G";
  std::filesystem::path work = "/tmp/stasis-lazy-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view arg = argv[i];
    if (arg == "--bytes") {
      bytes = argv[i + 1];
    } else if (arg == "--work-dir") {
      work = argv[i + 1];
    } else {
      std::cerr << "usage: lazy_bench [--bytes 1G] [--work-dir DIR]\n";
      return 2;
    }
  }
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  test::SubreaperScope subreaper;
  // Streamed checkpoints go into one store, ingested dumps into another, so
  // that both compare from the same state: a first checkpoint (every page is
  // new) and a next one (the pages are stored already, as for a periodic job).
  auto store = must(store::Store::open(work / "state"), "store");
  auto ingest_store = must(store::Store::open(work / "ingest-state"), "store");
  auto wl = test::Workload::start("stasis-wl-memory", {"--bytes", bytes}, work / "wl");
  std::cout << "workload_bytes=" << bytes << std::endl;

  auto raw_dump = [&](const std::string& name) {
    auto dir = work / name;
    std::filesystem::create_directories(dir);
    auto t = start_clock();
    criu({"dump", "-t", std::to_string(wl.pid()), "-D", dir.string(), "--leave-running",
          "-o", "dump.log"},
         dir);
    return std::pair{seconds_since(t), dir};
  };
  struct Streamed {
    double dump_s = 0;  // until CRIU is done (every page stored, not yet synced)
    double total_s = 0; // with the commit (fsync, manifest)
    double cpu_s = 0;   // stasis's own CPU time
    store::CheckpointSummary summary;
  };
  auto stream = [&](const std::string& name) {
    Streamed out;
    auto dir = work / name;
    std::filesystem::create_directories(dir);
    auto t = start_clock();
    const double cpu0 = cpu_seconds();
    auto listener =
        must(store::page_server::Listener::loopback("127.0.0.1", 0), "listen");
    auto streaming = must(store::StreamingCheckpoint::begin(store, "mem"), "begin");
    auto received = std::async(std::launch::async, [&]() -> Result<void> {
      auto conn = STASIS_TRY(listener.accept(60s));
      return streaming->receive(conn.get());
    });
    criu({"dump", "-t", std::to_string(wl.pid()), "-D", dir.string(), "--leave-running",
          "--page-server", "--address", "127.0.0.1", "--port",
          std::to_string(listener.port()), "-o", "dump.log"},
         dir);
    if (auto got = received.get(); !got) {
      throw std::runtime_error("receive: " + got.error().message);
    }
    out.dump_s = seconds_since(t);
    out.cpu_s = cpu_seconds() - cpu0;
    out.summary = must(streaming->commit(dir, {}), "commit");
    out.total_s = seconds_since(t);
    print("stream_pages_file_bytes_" + name, static_cast<double>(pages_file_bytes(dir)));
    return out;
  };
  auto dump_and_ingest = [&](const std::string& name) {
    auto [dump_s, dir] = raw_dump(name);
    auto t = start_clock();
    must(ingest_store.ingest("mem", dir, {}), "ingest");
    double ingest_s = seconds_since(t);
    std::filesystem::remove_all(dir);
    return std::pair{dump_s, dump_s + ingest_s};
  };

  auto [raw_s, raw_dir] = raw_dump("raw");
  // A stored checkpoint is durable; a raw dump leaves its pages in the page
  // cache. The raw dump made durable too (its sync) is the fair baseline for
  // a first checkpoint, whose pages are all new.
  const auto sync_start = Clock::now();
  ::sync();
  const double raw_synced_s = raw_s + seconds_since(sync_start);
  auto first = stream("streamed1");
  auto next = stream("streamed2");
  auto [raw_first_s, ingest_first_s] = dump_and_ingest("raw-first");
  auto [raw_next_s, ingest_next_s] = dump_and_ingest("raw-next");
  raw_s = (raw_s + raw_first_s + raw_next_s) / 3;
  const auto& stored = first.summary;
  print("raw_dump_s", raw_s);
  print("stream_first_dump_s", first.dump_s);
  print("stream_first_checkpoint_s", first.total_s);
  print("stream_first_cpu_s", first.cpu_s);
  print("stream_next_dump_s", next.dump_s);
  print("stream_next_checkpoint_s", next.total_s);
  print("stream_next_cpu_s", next.cpu_s);
  print("raw_dump_plus_ingest_first_s", ingest_first_s);
  print("raw_dump_plus_ingest_next_s", ingest_next_s);
  print("raw_dump_synced_s", raw_synced_s);
  print("stream_vs_raw_ratio", first.total_s / raw_s);
  print("stream_vs_raw_synced_ratio", first.total_s / raw_synced_s);
  print("stream_next_vs_raw_ratio", next.total_s / raw_s);
  print("stream_vs_dump_plus_ingest_first", first.total_s / ingest_first_s);
  print("stream_vs_dump_plus_ingest_next", next.total_s / ingest_next_s);
  print("stream_pages", static_cast<double>(stored.logical_bytes / 4096));

  // Full restore from the plain dir.
  stop(wl);
  auto t = start_clock();
  criu({"restore", "-d", "-D", raw_dir.string(), "-o", "restore.log"}, raw_dir);
  double full_s = seconds_since(t);
  wl.adopt(wl.pid());
  if (auto v = wl.verify(60s); !v.empty()) {
    throw std::runtime_error("full restore: " + v);
  }
  print("full_restore_s", full_s);

  // Lazy restore from the store.
  stop(wl);
  auto images = work / "lazy";
  auto lazy_work = work / "lazy-work";
  std::filesystem::create_directories(lazy_work);
  // stasisd keeps the packs' entries tables between lazy restores: a first
  // open reads them all (lazy_open_cold_s), later ones only new packs.
  store::LazySourceIndexCache index_cache;
  t = start_clock();
  must(store::LazySource::open(store, "mem", stored.id, &index_cache), "lazy open");
  const double open_cold_s = seconds_since(t);
  t = start_clock();
  auto source =
      must(store::LazySource::open(store, "mem", stored.id, &index_cache), "lazy open");
  double open_s = seconds_since(t);
  if (auto written = source->write_images(images); !written) {
    throw std::runtime_error("write images: " + written.error().message);
  }
  double write_s = seconds_since(t) - open_s;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw std::runtime_error("socketpair");
  }
  util::UniqueFd serve_end(fds[0]), daemon_end(fds[1]);
  auto served = std::async(std::launch::async,
                           [&, fd = serve_end.get()] { return source->serve(fd); });
  engine::LazyPagesOptions lo;
  lo.images_dir = images;
  lo.work_dir = lazy_work;
  lo.page_server_fd = daemon_end.get();
  auto daemon = engine::LazyPagesDaemon::start(test::criu_binary(), lo);
  if (!daemon) {
    throw std::runtime_error(daemon.error().message());
  }
  daemon_end.reset();
  double prepare_s = seconds_since(t);
  criu({"restore", "-d", "-D", images.string(), "-W", lazy_work.string(), "--lazy-pages",
        "-o", "restore.log"},
       lazy_work);
  double lazy_s = seconds_since(t);
  auto all_in = daemon->wait(5min);
  double all_pages_s = seconds_since(t);
  if (!all_in) {
    throw std::runtime_error(all_in.error().message());
  }
  auto stats = must(served.get(), "serve");
  wl.adopt(wl.pid());
  if (auto v = wl.verify(60s); !v.empty()) {
    throw std::runtime_error("lazy restore: " + v);
  }
  print("lazy_open_cold_s", open_cold_s);
  print("lazy_open_s", open_s);
  print("lazy_write_images_s", write_s);
  print("lazy_prepare_s", prepare_s);
  print("lazy_resume_s", lazy_s);
  // Time until the restored pid exists (the figure of issue 13), for the
  // workload's --bytes, and the full restore's time over it.
  print("time_to_pid_s", lazy_s);
  print("time_to_pid_restore_s", lazy_s - prepare_s);
  print("lazy_speedup", full_s / lazy_s);
  print("lazy_all_pages_in_s", all_pages_s);
  print("lazy_pages_served", static_cast<double>(stats.pages_sent));
  print("lazy_requests", static_cast<double>(stats.requests));
  print("lazy_restore_dir_pages_bytes", static_cast<double>(pages_file_bytes(images)));

  // Lazy restore from a registry on loopback, into a second store.
  test::TestRegistry registry;
  remote::ClientOptions client;
  client.credentials =
      remote::Credentials{test::TestRegistry::k_user, test::TestRegistry::k_password};
  client.ca_pem = registry.ca_pem();
  auto repo = must(remote::parse_reference(registry.host() + "/bench/mem"), "reference");
  t = start_clock();
  must(remote::push_checkpoint(store, "mem", stored.id, repo, client, "bench"), "push");
  print("registry_push_s", seconds_since(t));
  stop(wl);
  auto tagged = must(remote::parse_reference(registry.host() + "/bench/mem:mem-latest"),
                     "reference");
  auto second = must(store::Store::open(work / "second-state"), "store");
  auto remote_images = work / "remote-lazy";
  auto remote_work = work / "remote-lazy-work";
  std::filesystem::create_directories(remote_work);
  t = start_clock();
  auto pull = must(remote::LazyPull::open(tagged, client, work / "cache"), "lazy pull");
  std::shared_ptr<store::LazySource> remote_source = pull->take_source();
  const double remote_open_s = seconds_since(t);
  if (auto written = remote_source->write_images(remote_images); !written) {
    throw std::runtime_error("write images: " + written.error().message);
  }
  const double remote_write_s = seconds_since(t) - remote_open_s;
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw std::runtime_error("socketpair");
  }
  util::UniqueFd remote_serve_end(fds[0]), remote_daemon_end(fds[1]);
  auto remote_served = std::async(std::launch::async, [&, fd = remote_serve_end.get()] {
    return remote_source->serve(fd);
  });
  lo.images_dir = remote_images;
  lo.work_dir = remote_work;
  lo.page_server_fd = remote_daemon_end.get();
  auto remote_daemon = engine::LazyPagesDaemon::start(test::criu_binary(), lo);
  if (!remote_daemon) {
    throw std::runtime_error(remote_daemon.error().message());
  }
  remote_daemon_end.reset();
  criu({"restore", "-d", "-D", remote_images.string(), "-W", remote_work.string(),
        "--lazy-pages", "-o", "restore.log"},
       remote_work);
  const double remote_s = seconds_since(t);
  auto filled = std::async(std::launch::async, [&] {
    auto r = pull->fill(second, "mem");
    return std::pair{std::move(r), seconds_since(t)};
  });
  auto remote_all_in = remote_daemon->wait(5min);
  const double remote_all_pages_s = seconds_since(t);
  if (!remote_all_in) {
    throw std::runtime_error(remote_all_in.error().message());
  }
  auto remote_stats = must(remote_served.get(), "serve from the registry");
  auto [fill, fill_s] = filled.get();
  if (!fill) {
    throw std::runtime_error("fill: " + fill.error().message);
  }
  wl.adopt(wl.pid());
  if (auto v = wl.verify(60s); !v.empty()) {
    throw std::runtime_error("lazy restore from the registry: " + v);
  }
  print("remote_lazy_open_s", remote_open_s);
  print("remote_lazy_write_images_s", remote_write_s);
  print("remote_time_to_pid_s", remote_s);
  print("remote_vs_local_time_to_pid_ratio", remote_s / lazy_s);
  print("remote_all_pages_in_s", remote_all_pages_s);
  print("remote_vs_local_all_pages_in_ratio", remote_all_pages_s / all_pages_s);
  print("remote_stored_s", fill_s);
  print("remote_pages_served", static_cast<double>(remote_stats.pages_sent));
  print("remote_bytes_downloaded", static_cast<double>(pull->bytes_downloaded()));
  print("remote_bundle_bytes", static_cast<double>(pull->bundle_bytes()));
  wl.terminate();
  std::filesystem::remove_all(work);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "lazy_bench: " << e.what() << "\n";
  return 1;
}
