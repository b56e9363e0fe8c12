// The checkpoint store: every checkpoint of every job, each independently
// restorable, deduplicated by content.
//
// Layout under the state dir (mode 0700):
//   store.lock          flock: writers exclusive, readers shared
//   packs/*.pack        blobs (chunks and chunk lists), see store/pack.hpp
//   jobs/<job>/...      manifests and pin markers, see store/catalog.hpp
//   work/, logs/        the runs' scratch dirs, see store/run_dirs.hpp
// Ingest writes packs (fsync, rename) before the manifest rename that commits
// the checkpoint; removal deletes the manifest first and sweeps blobs later,
// so a crash at any point loses no committed checkpoint.
#pragma once

#include "store/catalog.hpp"
#include "store/types.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_set>

namespace stasis::policy {
struct RetentionRules;
}

namespace stasis::store {

class BlobIndex;
class BlobSink;
class BlobSource;

class Store {
public:
  // Opens (creating if needed) the store in state_dir.
  static Result<Store> open(const fs::path& state_dir);

  const fs::path& root() const { return m_root; }

  // Stores a CRIU images dir as the next checkpoint of job, within
  // info.limits. The dir may have been written by another user (a non-root
  // target's CRIU): only regular files with one link are read, each opened
  // relative to the dir without following symlinks or blocking (a symlink
  // other than CRIU's "parent", a FIFO, a device or a hard link is refused).
  Result<CheckpointSummary> ingest(const std::string& job, const fs::path& images_dir,
                                   const IngestInfo& info);

  // Jobs that have checkpoints.
  Result<std::vector<std::string>> jobs() const;
  // Checkpoints of a job, oldest first. A checkpoint whose manifest cannot be
  // read is listed with its problem (CheckpointSummary::problem).
  Result<std::vector<CheckpointSummary>> list(const std::string& job) const;
  // The manifest of one checkpoint.
  Result<Manifest> get(const std::string& job, std::uint64_t id) const;
  Result<CheckpointSummary> summary(const std::string& job, std::uint64_t id) const;

  // Writes a checkpoint as a plain CRIU images dir, verifying every chunk; a
  // damaged checkpoint is refused. dir is created (0755), or must be an empty
  // directory of ours that nobody else may write (see store/output_dir.hpp);
  // files are 0644 whatever the manifest says. Nothing is fsynced (the dir
  // is a throwaway input of `criu restore`); zero pages become holes. A dir
  // on a tmpfs (e.g. under /run or /dev/shm) is fastest.
  // progress (if set) is told the bytes written of the checkpoint's total.
  Result<void> materialize(const std::string& job, std::uint64_t id, const fs::path& dir,
                           const ProgressFn& progress = {}) const;

  // Re-hashes every chunk of one checkpoint, one job or (job empty) the store.
  Result<VerifyReport> verify(const std::string& job = "",
                              std::optional<std::uint64_t> id = std::nullopt) const;

  // Checks packs, index and manifests, cleans leftovers of interrupted
  // operations (temporary files, unused packs, and the run dirs a killed
  // daemon left when no daemon holds the state dir); with verify_data also
  // re-hashes every referenced blob.
  Result<FsckReport> fsck(bool verify_data = false);

  // Deletes a checkpoint (refused while pinned) and collects garbage.
  Result<GcReport> remove(const std::string& job, std::uint64_t id);
  Result<void> set_pinned(const std::string& job, std::uint64_t id, bool pinned);

  // Applies retention rules to a job: keep/delete with reasons. Pinned
  // checkpoints and the newest good one are always kept.
  Result<PruneReport> prune(const std::string& job, const policy::RetentionRules& rules,
                            bool dry_run, std::string_view time_zone = "");

  // Removes blobs no manifest references (deletes or repacks packs).
  Result<GcReport> gc();

  // Writes one checkpoint as a self-contained file (store/transfer.hpp).
  Result<void> export_checkpoint(const std::string& job, std::uint64_t id,
                                 const fs::path& file) const;
  // Writes it to fd, a descriptor a caller passed (see write_export_to).
  Result<void> export_checkpoint(const std::string& job, std::uint64_t id, int fd,
                                 const std::string& name,
                                 std::chrono::milliseconds stall) const;
  // Imports an export file as the next checkpoint of job, which the caller
  // names (and may write): never the job named in the file. Everything is
  // checked (docs/export-format.md) before anything is committed, within
  // limits.
  Result<CheckpointSummary> import_checkpoint(const fs::path& file,
                                              const std::string& job,
                                              const StoreLimits& limits = {});
  // The same from an open file (a daemon reads what its caller passes,
  // never a path as root); name is for messages.
  Result<CheckpointSummary> import_checkpoint(int fd, const std::string& name,
                                              const std::string& job,
                                              const StoreLimits& limits = {});

  // Imports a checkpoint whose manifest the caller has (parsed and checked by
  // manifest_from_json) and whose blobs source delivers (a registry pull), as
  // the next checkpoint of job, with imported_from = name. The store asks
  // source only for the blobs it lacks, checks every one it gets (wanted,
  // sizes, content hash) and commits nothing unless all checked out, within
  // limits.
  Result<CheckpointSummary> import_from_source(const Manifest& manifest,
                                               BlobSource& source,
                                               const std::string& name,
                                               const std::string& job,
                                               const StoreLimits& limits = {});

  // Calls read with one checkpoint's manifest and the blob index under the
  // shared store lock (writers wait): a reader outside the store, such as a
  // push to a registry, copies what it needs and returns.
  using CheckpointReader = std::function<Result<void>(const Manifest&, const BlobIndex&)>;
  Result<void> read_checkpoint(const std::string& job, std::uint64_t id,
                               const CheckpointReader& read) const;

  // Logical vs stored bytes per job and for the whole store.
  Result<Usage> usage() const;
  // The bytes one job stores (what a quota counts): its checkpoints' logical
  // bytes and the unique blob bytes they reference. An unknown job has none.
  Result<JobUsage> job_usage(const std::string& job) const;

  // The blob index, kept in memory between calls and refreshed from the packs
  // dir listing (others may have added or removed packs): a call costs what
  // changed since the last one. Call it with the store lock held; the index
  // may be changed only under the exclusive lock.
  Result<std::shared_ptr<BlobIndex>> load_index(std::vector<std::string>& problems) const;

private:
  explicit Store(fs::path root);
  Result<FileLock> lock(bool exclusive) const;
  Result<GcReport> gc_locked();
  // Takes the exclusive lock, runs read (which writes blobs through the sink
  // and returns the manifest) and commits it as the next checkpoint of job.
  Result<CheckpointSummary>
  import_with(const std::string& name, const std::string& job,
              const std::function<Result<Manifest>(BlobSink&, const BlobIndex&)>& read);
  JobUsage job_usage_locked(const BlobIndex& index, const std::string& job,
                            std::uint64_t* manifest_bytes,
                            std::unordered_set<Hash, HashHasher>* all) const;
  CheckpointSummary summarize(const Manifest& manifest) const;

  fs::path m_root;
  fs::path m_packs;
  Catalog m_catalog;
  struct IndexCache;
  // Shared by copies of this Store (they use the same dir).
  std::shared_ptr<IndexCache> m_index_cache;
};

} // namespace stasis::store
