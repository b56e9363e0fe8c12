// Value types the store API takes and returns.
#pragma once

#include "store/manifest.hpp"
#include "store/progress.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stasis::store {

// The largest checkpoint the store takes: the sum of its image files' sizes.
inline constexpr std::uint64_t k_max_checkpoint_bytes = 256ULL << 30;

// What one store operation (ingest, streaming checkpoint, import) may add.
// The store refuses an operation that would go beyond them and stores
// nothing of it; the manager sets them from a caller's quota (with
// Store::job_usage) before it stores anything.
struct StoreLimits {
  // Largest logical size (image bytes) of the new checkpoint.
  std::uint64_t max_logical_bytes = k_max_checkpoint_bytes;
  // Most bytes the operation may add to the packs (new data, compressed);
  // unset: no limit beyond max_logical_bytes.
  std::optional<std::uint64_t> max_new_bytes;
};

// What the caller knows about a dump besides its images (plain fields: the
// store does not depend on the engine or the policy).
struct IngestInfo {
  std::string policy_fingerprint;
  std::string criu_version;
  std::string kernel;
  std::string cpu;
  std::string target;
  DumpStats stats;
  // Stored checkpoint that CRIU's parent images correspond to (PE_PARENT
  // pages are taken from it); default: the job's newest checkpoint.
  std::optional<std::uint64_t> parent;
  // Creation time; default: now.
  std::optional<std::chrono::sys_seconds> created;
  // What the checkpoint may add to the store.
  StoreLimits limits;
  // Told the image bytes stored of the images dir's total while storing.
  ProgressFn progress;
};

// One checkpoint as listed.
struct CheckpointSummary {
  std::string job;
  std::uint64_t id = 0;
  std::optional<std::uint64_t> previous;
  std::chrono::sys_seconds created{};
  bool pinned = false;
  std::uint64_t logical_bytes = 0;
  std::uint64_t stored_bytes = 0;
  std::size_t files = 0;
  std::string policy_fingerprint;
  std::string criu_version;
  std::string imported_from;
  DumpStats stats;
  // Why the checkpoint's manifest cannot be read ("" when it can): only job,
  // id and pinned are known then.
  std::string problem;
  bool damaged() const { return !problem.empty(); }
};

// A checkpoint found damaged, with the image files that cannot be restored.
struct DamagedCheckpoint {
  std::string job;
  std::uint64_t id = 0;
  std::vector<std::string> files;
  std::vector<std::string> problems;
};

// Result of verify().
struct VerifyReport {
  std::size_t checkpoints = 0;
  std::size_t blobs = 0;
  std::uint64_t bytes = 0;
  std::vector<DamagedCheckpoint> damaged;
  bool ok() const { return damaged.empty(); }
};

// Result of collecting garbage.
struct GcReport {
  std::size_t packs_deleted = 0;
  std::size_t packs_repacked = 0;
  std::size_t packs_written = 0;
  std::uint64_t bytes_freed = 0;
};

// Result of fsck().
struct FsckReport {
  std::size_t temp_files_removed = 0;
  std::size_t packs = 0;
  std::size_t blobs = 0;
  std::size_t checkpoints = 0;
  std::size_t orphan_packs_removed = 0;
  // Work and log dirs of runs a killed daemon left behind, removed (only when
  // no daemon holds the state dir; else they are counted as in flight).
  std::size_t leftover_runs_removed = 0;
  std::uint64_t leftover_bytes_freed = 0;
  std::size_t runs_in_flight = 0;
  std::vector<std::string> problems;
  std::vector<DamagedCheckpoint> damaged;
  bool ok() const { return problems.empty() && damaged.empty(); }
};

// What retention decided about one checkpoint.
struct PruneDecision {
  std::uint64_t id = 0;
  bool keep = true;
  std::vector<std::string> reasons;
};

// Result of prune().
struct PruneReport {
  bool dry_run = false;
  std::vector<PruneDecision> decisions;
  std::vector<std::uint64_t> deleted;
  GcReport gc;
};

// Space used by one job.
struct JobUsage {
  std::string job;
  std::size_t checkpoints = 0;
  std::uint64_t logical_bytes = 0; // sum of the checkpoints' image sizes
  std::uint64_t stored_bytes = 0;  // unique blob bytes the job references
  double dedup_ratio() const {
    return stored_bytes == 0
               ? 0.0
               : static_cast<double>(logical_bytes) / static_cast<double>(stored_bytes);
  }
};

// Result of usage().
struct Usage {
  std::vector<JobUsage> jobs;
  std::uint64_t logical_bytes = 0;
  std::uint64_t referenced_bytes = 0; // unique blob bytes referenced by any checkpoint
  std::uint64_t pack_bytes = 0;       // bytes of pack files on disk
  std::uint64_t manifest_bytes = 0;
};

} // namespace stasis::store
