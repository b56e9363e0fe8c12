// Checkpoints in and out of the store as a whole: export files, imports from
// them and from any other source of blobs (a registry pull).
#include "store/blob_index.hpp"
#include "store/blob_sink.hpp"
#include "store/store.hpp"
#include "store/transfer.hpp"
#include "util/log.hpp"

#include <fcntl.h>
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

Result<void> Store::export_checkpoint(const std::string& job, std::uint64_t id,
                                      const fs::path& file) const {
  return read_checkpoint(job, id, [&](const Manifest& manifest, const BlobIndex& index) {
    return write_export(index, manifest, file);
  });
}

Result<void> Store::export_checkpoint(const std::string& job, std::uint64_t id, int fd,
                                      const std::string& name,
                                      std::chrono::milliseconds stall) const {
  return read_checkpoint(job, id, [&](const Manifest& manifest, const BlobIndex& index) {
    return write_export_to(index, manifest, fd, name, stall);
  });
}

Result<void> Store::read_checkpoint(const std::string& job, std::uint64_t id,
                                    const CheckpointReader& read) const {
  STASIS_TRY(check_job(job));
  auto held = STASIS_TRY(lock(false));
  auto manifest = STASIS_TRY(m_catalog.load(job, id));
  std::vector<std::string> problems;
  auto index_ref = STASIS_TRY(load_index(problems));
  return read(manifest, *index_ref);
}

Result<CheckpointSummary> Store::import_checkpoint(const fs::path& file,
                                                   const std::string& job,
                                                   const StoreLimits& limits) {
  util::UniqueFd fd{::open(file.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)};
  if (!fd) {
    return make_error("cannot open {}: {}", file.string(), errno_text());
  }
  return import_checkpoint(fd.get(), file.string(), job, limits);
}

Result<CheckpointSummary> Store::import_checkpoint(int fd, const std::string& name,
                                                   const std::string& job,
                                                   const StoreLimits& limits) {
  return import_with(name, job,
                     [&](BlobSink& sink, const BlobIndex& index) -> Result<Manifest> {
                       sink.set_limit(limits.max_new_bytes);
                       auto m = STASIS_TRY(read_export(sink, index, fd, name, limits));
                       m.imported_from = fmt::format("{}/{}", m.job, m.id);
                       return m;
                     });
}

Result<CheckpointSummary> Store::import_from_source(const Manifest& manifest,
                                                    BlobSource& source,
                                                    const std::string& name,
                                                    const std::string& job,
                                                    const StoreLimits& limits) {
  return import_with(
      name, job, [&](BlobSink& sink, const BlobIndex& index) -> Result<Manifest> {
        sink.set_limit(limits.max_new_bytes);
        auto m =
            STASIS_TRY(read_from_source(sink, index, manifest, source, name, limits));
        m.imported_from = name;
        return m;
      });
}

Result<CheckpointSummary> Store::import_with(
    const std::string& name, const std::string& job,
    const std::function<Result<Manifest>(BlobSink&, const BlobIndex&)>& read) {
  if (job.empty()) {
    return make_error("importing {} needs the job to store it in (the job named in "
                      "the file is never used)",
                      name);
  }
  STASIS_TRY(check_job(job));
  auto held = STASIS_TRY(lock(true));
  std::vector<std::string> problems;
  auto index_ref = STASIS_TRY(load_index(problems));
  auto& index = *index_ref;
  BlobSink sink(index, m_packs);
  auto imported = read(sink, index);
  if (!imported) {
    sink.rollback();
    return make_error("cannot import {}: {}", name, imported.error().message);
  }
  Manifest m = std::move(*imported);
  m.job = job;
  auto ids = m_catalog.ids(m.job);
  auto id = m_catalog.next_id(m.job);
  if (!ids || !id) {
    sink.rollback();
    return make_error("{}", !ids ? ids.error().message : id.error().message);
  }
  m.previous = ids->empty() ? std::nullopt : std::optional(ids->back());
  m.id = *id;
  m.stored_bytes = sink.stored_bytes();
  auto committed = sink.flush();
  if (committed) {
    committed = m_catalog.commit(m);
  }
  if (!committed) {
    sink.rollback();
    return make_error("cannot import {}: {}", name, committed.error().message);
  }
  sink.release();
  log::get("store")->info("imported {} as checkpoint {}/{}", name, m.job, m.id);
  return summarize(m);
}

} // namespace stasis::store
