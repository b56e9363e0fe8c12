#include "manager/lazy_restore.hpp"

#include "engine/lazy_pages.hpp"
#include "store/lazy_source.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <sys/socket.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// How long the lazy-pages daemon may take to pull the remaining pages once
// the tree runs (it fetches them in the background).
constexpr auto k_all_pages_timeout = 30min;

engine::EngineError store_error(const std::string& what, const std::string& why) {
  return engine::EngineError(engine::ErrorKind::System, what, why);
}

} // namespace

LazyRestores::~LazyRestores() {
  std::unique_lock lock(m_mutex);
  auto busy = [&] {
    return std::any_of(m_flights.begin(), m_flights.end(),
                       [](const Flight& f) { return !f.done; });
  };
  if (busy()) {
    log::get("manager")->warn(
        "waiting for {} lazy restore(s) to finish serving pages before stopping "
        "(their processes would die without them)",
        std::count_if(m_flights.begin(), m_flights.end(),
                      [](const Flight& f) { return !f.done; }));
  }
  m_changed.wait(lock, [&] { return !busy(); });
  for (auto& f : m_flights) {
    if (f.thread.joinable()) {
      f.thread.join();
    }
  }
}

std::size_t LazyRestores::in_flight() const {
  std::lock_guard lock(m_mutex);
  return static_cast<std::size_t>(std::count_if(m_flights.begin(), m_flights.end(),
                                                [](const Flight& f) { return !f.done; }));
}

bool LazyRestores::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(m_mutex);
  return m_changed.wait_for(lock, timeout, [&] {
    return std::none_of(m_flights.begin(), m_flights.end(),
                        [](const Flight& f) { return !f.done; });
  });
}

Result<std::shared_ptr<store::LazySource>>
LazyRestores::prepare(const store::Store& store, const std::string& job, std::uint64_t id,
                      const fs::path& images_dir) {
  std::shared_ptr<store::LazySource> source =
      STASIS_TRY(store::LazySource::open(store, job, id, &m_index_cache));
  STASIS_TRY(source->write_images(images_dir));
  return source;
}

Result<engine::RestoreResult, engine::EngineError>
LazyRestores::restore(const fs::path& criu, const RestoreRights& rights,
                      std::shared_ptr<store::LazySource> source, const fs::path& work,
                      engine::RestoreOptions options, const engine::NotifyHandler& notify,
                      const engine::RunControl& control) {
  const std::string what = fmt::format("lazy restore of {} checkpoint {} failed",
                                       source->manifest().job, source->manifest().id);
  options.work_dir = work / "criu";
  options.lazy_pages = true;
  std::error_code ec;
  fs::create_directories(options.work_dir, ec);
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Unexpected(store_error(what, "cannot create the page server socket"));
  }
  auto serve_end = std::make_shared<util::UniqueFd>(fds[0]);
  util::UniqueFd daemon_end(fds[1]);
  engine::LazyPagesOptions lo;
  lo.images_dir = options.images_dir;
  lo.work_dir = options.work_dir;
  lo.page_server_fd = daemon_end.get();
  lo.log_level = options.log_level;
  // Only root trees (or root's opt-in) come here: restore_run refuses a lazy
  // restore of a user's tree, since CRIU's lazy-pages daemon does not run
  // with a user's rights.
  if (!rights.as_root) {
    return Unexpected(engine::EngineError(engine::ErrorKind::InvalidOptions,
                                          "lazy restore refused",
                                          "it runs with root's rights only"));
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto since = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now() - t0)
        .count();
  };
  auto started = engine::LazyPagesDaemon::start(criu, lo);
  daemon_end.reset();
  log::get("manager")->debug("lazy restore timing: lazy-pages daemon started in {} ms",
                             since());
  if (!started) {
    return Unexpected(std::move(started).error());
  }
  auto daemon = std::make_shared<engine::LazyPagesDaemon>(std::move(*started));
  // Serve in the background from now on: the restore itself needs pages.
  Flight* flight = nullptr;
  {
    std::lock_guard lock(m_mutex);
    std::erase_if(m_flights, [](Flight& f) {
      if (f.done && f.thread.joinable()) {
        f.thread.join();
      }
      return f.done;
    });
    flight = &m_flights.emplace_back();
    flight->name = fmt::format("{}/{}", source->manifest().job, source->manifest().id);
  }
  auto failed = std::make_shared<std::atomic<bool>>(false);
  flight->thread = std::thread([this, flight, source, serve_end, daemon, work, failed] {
    auto logger = log::get("manager");
    auto stats = source->serve(serve_end->get());
    // Once serving failed, no page can come: the daemon would wait for one.
    if (failed->load() || !stats) {
      daemon->kill();
    }
    auto exited = daemon->wait(k_all_pages_timeout);
    if (!exited) {
      daemon->kill();
    }
    if (!stats || !exited) {
      logger->error("lazy restore of {}: {}", flight->name,
                    !stats ? stats.error().message : exited.error().message());
    } else {
      logger->info("lazy restore of {}: all {} pages served in {} requests", flight->name,
                   stats->pages_sent, stats->requests);
    }
    std::error_code ignored;
    fs::remove_all(work, ignored);
    std::lock_guard lock(m_mutex);
    flight->done = true;
    m_changed.notify_all();
  });
  engine::CriuClient client(criu, restore_workers(criu, rights));
  auto restored = client.restore(options, notify, control);
  log::get("manager")->debug(
      "lazy restore timing: criu restore returned after {} ms (since the daemon start)",
      since());
  if (!restored) {
    // Ends the serving thread, which then stops the lazy-pages daemon.
    failed->store(true);
    ::shutdown(serve_end->get(), SHUT_RDWR);
  }
  return restored;
}

} // namespace stasis::manager
