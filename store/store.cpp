#include "store/store.hpp"

#include "store/blob_index.hpp"
#include "store/blob_sink.hpp"
#include "store/gc.hpp"
#include "store/ingest.hpp"
#include "store/output_dir.hpp"
#include "store/reader.hpp"
#include "store/transfer.hpp"
#include "util/log.hpp"

#include <fcntl.h>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::store {
namespace {

Result<void> check_job(const std::string& job) {
  if (!valid_job_name(job)) {
    return make_error(
        "invalid job name '{}' (use letters, digits, '_', '-', '.', '@'; not "
        "starting with '.')",
        job);
  }
  return ok();
}

} // namespace

Store::Store(fs::path root)
    : m_root(std::move(root)), m_packs(m_root / "packs"), m_catalog(m_root / "jobs"),
      m_index_cache(std::make_shared<IndexCache>()) {}

Result<Store> Store::open(const fs::path& state_dir) {
  std::error_code ec;
  fs::path root = fs::absolute(state_dir, ec);
  if (ec) {
    return make_error("bad state dir {}: {}", state_dir.string(), ec.message());
  }
  STASIS_TRY(ensure_dir(root));
  ::chmod(root.c_str(), 0700);
  STASIS_TRY(ensure_dir(root / "packs"));
  STASIS_TRY(ensure_dir(root / "jobs"));
  if (::access(root.c_str(), W_OK) != 0) {
    return make_error("state dir {} is not writable: {}", root.string(), errno_text());
  }
  return Store(root);
}

Result<FileLock> Store::lock(bool exclusive) const {
  return FileLock::acquire(m_root / "store.lock", exclusive);
}

struct Store::IndexCache {
  std::mutex mutex;
  std::shared_ptr<BlobIndex> index;
};

Result<std::shared_ptr<BlobIndex>>
Store::load_index(std::vector<std::string>& problems) const {
  std::lock_guard guard(m_index_cache->mutex);
  auto& cached = m_index_cache->index;
  if (!cached) {
    cached = std::make_shared<BlobIndex>(STASIS_TRY(BlobIndex::load(m_packs, problems)));
    return cached;
  }
  auto refreshed = cached->refresh(problems);
  if (!refreshed) {
    cached.reset();
    STASIS_TRY(std::move(refreshed));
  }
  return cached;
}

CheckpointSummary Store::summarize(const Manifest& m) const {
  CheckpointSummary s;
  s.job = m.job;
  s.id = m.id;
  s.previous = m.previous;
  s.created = m.created;
  s.pinned = m_catalog.pinned(m.job, m.id);
  s.logical_bytes = m.logical_bytes;
  s.stored_bytes = m.stored_bytes;
  s.files = m.files.size();
  s.policy_fingerprint = m.policy_fingerprint;
  s.criu_version = m.criu_version;
  s.imported_from = m.imported_from;
  s.stats = m.stats;
  return s;
}

Result<CheckpointSummary> Store::ingest(const std::string& job,
                                        const fs::path& images_dir,
                                        const IngestInfo& info) {
  STASIS_TRY(check_job(job));
  auto held = STASIS_TRY(lock(true));
  std::vector<std::string> problems;
  auto index_ref = STASIS_TRY(load_index(problems));
  auto& index = *index_ref;
  auto ids = STASIS_TRY(m_catalog.ids(job));
  std::optional<Manifest> parent;
  std::optional<std::uint64_t> parent_id = info.parent;
  if (parent_id) {
    parent = STASIS_TRY(m_catalog.load(job, *parent_id));
  } else if (!ids.empty()) {
    // The newest checkpoint, when it can be read: a damaged one is only a
    // problem for a dump that takes pages from it (which then says so).
    parent_id = ids.back();
    if (auto newest = m_catalog.load(job, *parent_id)) {
      parent = std::move(*newest);
    }
  }
  auto id = STASIS_TRY(m_catalog.next_id(job));
  BlobSink sink(index, m_packs);
  sink.set_limit(info.limits.max_new_bytes);
  std::optional<FastTable> parent_fast;
  if (parent) {
    if (auto table = m_catalog.load_fast_table(job, parent->id)) {
      parent_fast = std::move(*table);
    } else {
      log::get("store")->debug("{}; every page of the new checkpoint is hashed in full",
                               table.error().message);
    }
  }
  FastTable fast;
  auto manifest = build_checkpoint(sink, index, job, id, images_dir, info,
                                   parent ? &*parent : nullptr,
                                   parent_fast ? &*parent_fast : nullptr, &fast);
  Result<void> committed = ok();
  if (manifest) {
    manifest->previous = parent_id;
    committed = sink.flush();
    if (committed) {
      // Only a shortcut for the next checkpoint: failing to keep it costs
      // that one time, not this checkpoint.
      if (auto saved = m_catalog.save_fast_table(job, id, fast); !saved) {
        log::get("store")->warn("{}", saved.error().message);
      }
    }
    if (committed) {
      committed = m_catalog.commit(*manifest);
    }
  }
  if (!manifest || !committed) {
    sink.rollback();
    (void)remove_durably(m_catalog.fast_table_path(job, id));
    auto message = manifest ? committed.error().message : manifest.error().message;
    log::get("store")->warn("checkpoint of job {} not stored: {}", job, message);
    return make_error("cannot store checkpoint of job {}: {}", job, message);
  }
  sink.release();
  log::get("store")->info("stored checkpoint {}/{}: {} logical bytes, {} new bytes", job,
                          id, manifest->logical_bytes, manifest->stored_bytes);
  return summarize(*manifest);
}

Result<std::vector<std::string>> Store::jobs() const {
  std::vector<std::string> out;
  for (const auto& job : STASIS_TRY(m_catalog.jobs())) {
    if (!STASIS_TRY(m_catalog.ids(job)).empty()) {
      out.push_back(job);
    }
  }
  return out;
}

Result<std::vector<CheckpointSummary>> Store::list(const std::string& job) const {
  STASIS_TRY(check_job(job));
  auto held = STASIS_TRY(lock(false));
  std::vector<CheckpointSummary> out;
  for (auto id : STASIS_TRY(m_catalog.ids(job))) {
    auto manifest = m_catalog.load(job, id);
    if (manifest) {
      out.push_back(summarize(*manifest));
      continue;
    }
    CheckpointSummary damaged;
    damaged.job = job;
    damaged.id = id;
    damaged.pinned = m_catalog.pinned(job, id);
    damaged.problem = manifest.error().message;
    out.push_back(std::move(damaged));
  }
  return out;
}

Result<Manifest> Store::get(const std::string& job, std::uint64_t id) const {
  STASIS_TRY(check_job(job));
  return m_catalog.load(job, id);
}

Result<CheckpointSummary> Store::summary(const std::string& job, std::uint64_t id) const {
  return summarize(STASIS_TRY(get(job, id)));
}

Result<void> Store::materialize(const std::string& job, std::uint64_t id,
                                const fs::path& dir, const ProgressFn& progress) const {
  STASIS_TRY(check_job(job));
  auto held = STASIS_TRY(lock(false));
  auto manifest = STASIS_TRY(m_catalog.load(job, id));
  std::vector<std::string> problems;
  auto index_ref = STASIS_TRY(load_index(problems));
  auto& index = *index_ref;
  auto out = STASIS_TRY(OutputDir::open(dir));
  auto written = write_checkpoint(index, manifest, out, progress);
  if (!written) {
    out.discard();
  }
  return written;
}

Result<VerifyReport> Store::verify(const std::string& job,
                                   std::optional<std::uint64_t> id) const {
  auto held = STASIS_TRY(lock(false));
  std::vector<std::string> problems;
  auto index_ref = STASIS_TRY(load_index(problems));
  auto& index = *index_ref;
  std::vector<std::pair<std::string, std::uint64_t>> targets;
  std::vector<std::string> jobs_to_check;
  if (job.empty()) {
    jobs_to_check = STASIS_TRY(m_catalog.jobs());
  } else {
    STASIS_TRY(check_job(job));
    jobs_to_check.push_back(job);
  }
  for (const auto& j : jobs_to_check) {
    if (id) {
      if (!m_catalog.exists(j, *id)) {
        return make_error("job {} has no checkpoint {}", j, *id);
      }
      targets.emplace_back(j, *id);
      continue;
    }
    for (auto i : STASIS_TRY(m_catalog.ids(j))) {
      targets.emplace_back(j, i);
    }
  }
  VerifyReport report;
  for (const auto& [j, i] : targets) {
    ++report.checkpoints;
    auto manifest = m_catalog.load(j, i);
    if (!manifest) {
      report.damaged.push_back({j, i, {"manifest"}, {manifest.error().message}});
      continue;
    }
    auto check = check_checkpoint(index, *manifest, true);
    report.blobs += check.blobs;
    report.bytes += check.bytes;
    if (!check.bad_files.empty()) {
      report.damaged.push_back({j, i, check.bad_files, check.problems});
    }
  }
  return report;
}

Result<GcReport> Store::remove(const std::string& job, std::uint64_t id) {
  STASIS_TRY(check_job(job));
  auto held = STASIS_TRY(lock(true));
  if (!m_catalog.exists(job, id)) {
    return make_error("job {} has no checkpoint {}", job, id);
  }
  if (m_catalog.pinned(job, id)) {
    return make_error("checkpoint {}/{} is pinned; unpin it first", job, id);
  }
  STASIS_TRY(m_catalog.remove(job, id));
  log::get("store")->info("deleted checkpoint {}/{}", job, id);
  return gc_locked();
}

Result<void> Store::set_pinned(const std::string& job, std::uint64_t id, bool pinned) {
  STASIS_TRY(check_job(job));
  auto held = STASIS_TRY(lock(true));
  return m_catalog.set_pinned(job, id, pinned);
}

Result<GcReport> Store::gc() {
  auto held = STASIS_TRY(lock(true));
  return gc_locked();
}

Result<GcReport> Store::gc_locked() {
  std::vector<std::string> problems;
  auto index_ref = STASIS_TRY(load_index(problems));
  auto& index = *index_ref;
  if (!problems.empty()) {
    return make_error("garbage collection stopped: {} (run fsck)", problems.front());
  }
  auto live = STASIS_TRY(mark_live(index, m_catalog));
  auto report = STASIS_TRY(sweep(index, m_packs, live));
  log::get("store")->debug("gc: {} packs deleted, {} repacked, {} bytes freed",
                           report.packs_deleted, report.packs_repacked,
                           report.bytes_freed);
  return report;
}

} // namespace stasis::store

namespace stasis::store {} // namespace stasis::store
