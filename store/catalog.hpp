// The catalog: where manifests and pin markers live on disk.
//
//   <root>/jobs/<job>/<id>.json     manifest (written atomically)
//   <root>/jobs/<job>/<id>.pinned   present while the checkpoint is pinned
//   <root>/jobs/<job>/last-id       highest id ever given (ids never repeat)
#pragma once

#include "store/fast_table.hpp"
#include "store/fs_util.hpp"
#include "store/manifest.hpp"

#include <vector>

namespace stasis::store {

class Catalog {
public:
  explicit Catalog(fs::path jobs_dir) : m_dir(std::move(jobs_dir)) {}

  // Job names that have a directory (possibly without checkpoints).
  Result<std::vector<std::string>> jobs() const;
  // Checkpoint ids of a job, ascending; an unknown job has none.
  Result<std::vector<std::uint64_t>> ids(const std::string& job) const;
  bool exists(const std::string& job, std::uint64_t id) const;

  Result<Manifest> load(const std::string& job, std::uint64_t id) const;
  // Writes a manifest atomically (the commit point of a checkpoint).
  Result<void> commit(const Manifest& manifest);
  // Removes a manifest and its pin marker durably.
  Result<void> remove(const std::string& job, std::uint64_t id);

  // The fast table of a checkpoint (see fast_table.hpp): an error when it
  // has none or it cannot be read, which only costs the next ingest time.
  Result<FastTable> load_fast_table(const std::string& job, std::uint64_t id) const;
  // Writes a checkpoint's fast table atomically, before its manifest.
  Result<void> save_fast_table(const std::string& job, std::uint64_t id,
                               const FastTable& table);

  bool pinned(const std::string& job, std::uint64_t id) const;
  Result<void> set_pinned(const std::string& job, std::uint64_t id, bool pinned);

  // The id the next checkpoint of job gets (never reused).
  Result<std::uint64_t> next_id(const std::string& job) const;

  fs::path job_dir(const std::string& job) const { return m_dir / job; }
  fs::path fast_table_path(const std::string& job, std::uint64_t id) const {
    return job_dir(job) / (std::to_string(id) + ".fast");
  }
  fs::path manifest_path(const std::string& job, std::uint64_t id) const {
    return job_dir(job) / (std::to_string(id) + ".json");
  }

private:
  fs::path m_dir;
};

} // namespace stasis::store
