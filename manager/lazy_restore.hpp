// Lazy restores: the restored tree resumes at once and its memory follows on
// demand, served from the store by stasis's page server to CRIU's lazy-pages
// daemon. The daemon keeps serving in the background until every page is in.
//
// If stasisd dies before that, a lazily restored process faults and dies at
// its next missing page (the store itself is only read, so it stays intact).
// Hence the manager does not stop while a lazy restore is in flight: shutting
// down waits until each has finished serving.
#pragma once

#include "engine/criu_client.hpp"
#include "manager/restore_rights.hpp"
#include "store/lazy_source.hpp"
#include "store/store.hpp"

#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

namespace stasis::manager {

class LazyRestores {
public:
  LazyRestores() = default;
  // Waits until every in-flight lazy restore has finished serving.
  ~LazyRestores();
  LazyRestores(const LazyRestores&) = delete;
  LazyRestores& operator=(const LazyRestores&) = delete;

  // Opens checkpoint job/id for a lazy restore and writes all its images but
  // the lazily served pages to images_dir. The packs' entries tables read for
  // one lazy restore are kept for the next (only new packs are read then).
  Result<std::shared_ptr<store::LazySource>>
  prepare(const store::Store& store, const std::string& job, std::uint64_t id,
          const std::filesystem::path& images_dir);

  // Restores from a prepared source (options.images_dir = its images dir):
  // starts the lazy-pages daemon and the page server, then CRIU's restore.
  // work (holding the images) then belongs to the in-flight restore, which
  // removes it once every page is in.
  // CRIU's restore and its lazy-pages daemon run with `rights`.
  Result<engine::RestoreResult, engine::EngineError>
  restore(const std::filesystem::path& criu, const RestoreRights& rights,
          std::shared_ptr<store::LazySource> source, const std::filesystem::path& work,
          engine::RestoreOptions options, const engine::NotifyHandler& notify,
          const engine::RunControl& control);

  // Lazy restores still serving pages.
  std::size_t in_flight() const;
  // Waits until none is in flight; false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout) const;

private:
  struct Flight {
    std::string name;
    std::thread thread;
    bool done = false;
  };

  mutable std::mutex m_mutex;
  mutable std::condition_variable m_changed;
  std::list<Flight> m_flights;
  store::LazySourceIndexCache m_index_cache;
};

} // namespace stasis::manager
