// Store::fsck and Store::usage: consistency checks and space accounting.
#include "store/blob_index.hpp"
#include "store/gc.hpp"
#include "store/reader.hpp"
#include "store/run_dirs.hpp"
#include "store/store.hpp"
#include "util/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::store {
namespace {

// Removes leftovers of interrupted writes (".tmp-*") in dir.
std::size_t remove_temp_files(const fs::path& dir) {
  std::size_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().starts_with(k_temp_prefix) &&
        ::unlink(it->path().c_str()) == 0) {
      ++removed;
    }
  }
  if (removed > 0) {
    (void)fsync_dir(dir);
  }
  return removed;
}

// The run dirs a killed daemon left behind: removed unless a daemon holds the
// state dir (then they belong to runs in flight). Returns the problems.
std::vector<std::string> remove_leftover_runs_into(const fs::path& root,
                                                   FsckReport& report) {
  auto lease = DaemonLease::try_acquire(root);
  if (!lease) {
    return {lease.error().message};
  }
  if (!*lease) {
    report.runs_in_flight = run_dirs(root).size();
    return {};
  }
  auto removed = remove_leftover_runs(root, **lease);
  report.leftover_runs_removed = removed.runs.size();
  report.leftover_bytes_freed = removed.bytes;
  if (!removed.runs.empty()) {
    log::get("store")->info("fsck: removed the dirs of {} run(s) a stopped daemon left "
                            "behind ({} bytes)",
                            removed.runs.size(), removed.bytes);
  }
  return removed.problems;
}

} // namespace

Result<FsckReport> Store::fsck(bool verify_data) {
  auto held = STASIS_TRY(lock(true));
  FsckReport report;
  report.temp_files_removed += remove_temp_files(m_root);
  report.temp_files_removed += remove_temp_files(m_packs);
  for (const auto& job : STASIS_TRY(m_catalog.jobs())) {
    report.temp_files_removed += remove_temp_files(m_catalog.job_dir(job));
  }
  auto leftover_problems = remove_leftover_runs_into(m_root, report);
  auto index_ref = STASIS_TRY(load_index(report.problems));
  auto& index = *index_ref;
  report.packs = index.pack_names().size();
  report.blobs = index.size();
  bool all_manifests_readable = true;
  for (const auto& job : STASIS_TRY(m_catalog.jobs())) {
    for (auto id : STASIS_TRY(m_catalog.ids(job))) {
      ++report.checkpoints;
      auto manifest = m_catalog.load(job, id);
      if (!manifest) {
        all_manifests_readable = false;
        report.damaged.push_back({job, id, {"manifest"}, {manifest.error().message}});
        continue;
      }
      auto check = check_checkpoint(index, *manifest, verify_data);
      if (!check.bad_files.empty()) {
        all_manifests_readable = false;
        report.damaged.push_back({job, id, check.bad_files, check.problems});
      }
    }
  }
  // Packs no checkpoint uses are leftovers of an interrupted ingest or GC.
  if (all_manifests_readable && report.problems.empty()) {
    auto live = STASIS_TRY(mark_live(index, m_catalog));
    std::vector<bool> used(index.pack_names().size(), false);
    for (const auto& [hash, loc] : index.blobs()) {
      if (live.contains(hash)) {
        used[loc.pack] = true;
      }
    }
    for (std::uint32_t p = 0; p < used.size(); ++p) {
      if (!used[p] && ::unlink(index.pack_path(p).c_str()) == 0) {
        ++report.orphan_packs_removed;
      }
    }
    if (report.orphan_packs_removed > 0) {
      STASIS_TRY(fsync_dir(m_packs));
      report.packs -= report.orphan_packs_removed;
    }
  }
  report.problems.insert(report.problems.end(), leftover_problems.begin(),
                         leftover_problems.end());
  log::get("store")->info(
      "fsck: {} packs, {} blobs, {} checkpoints, {} problems, {} damaged", report.packs,
      report.blobs, report.checkpoints, report.problems.size(), report.damaged.size());
  return report;
}

JobUsage Store::job_usage_locked(const BlobIndex& index, const std::string& job,
                                 std::uint64_t* manifest_bytes, HashSet* all) const {
  JobUsage ju;
  ju.job = job;
  HashSet mine;
  std::vector<std::uint8_t> blob;
  std::vector<ChunkRef> refs;
  for (auto id : m_catalog.ids(job).value_or(std::vector<std::uint64_t>{})) {
    ++ju.checkpoints;
    auto manifest = m_catalog.load(job, id);
    if (!manifest) {
      continue; // damaged: fsck and verify name it
    }
    ju.logical_bytes += manifest->logical_bytes;
    if (manifest_bytes != nullptr) {
      std::error_code ec;
      *manifest_bytes += fs::file_size(m_catalog.manifest_path(job, id), ec);
    }
    for (const auto& f : manifest->files) {
      for (const auto& list : f.lists) {
        if (!mine.insert(list).second || !index.read(list, blob)) {
          continue;
        }
        refs.clear();
        if (decode_chunk_list(blob, refs)) {
          for (const auto& r : refs) {
            if (!r.hash.is_zero()) {
              mine.insert(r.hash);
            }
          }
        }
      }
    }
  }
  for (const auto& h : mine) {
    if (const auto* loc = index.find(h)) {
      ju.stored_bytes += loc->stored_len;
    }
  }
  if (all != nullptr) {
    all->insert(mine.begin(), mine.end());
  }
  return ju;
}

Result<JobUsage> Store::job_usage(const std::string& job) const {
  if (!valid_job_name(job)) {
    return make_error("invalid job name '{}'", job);
  }
  auto held = STASIS_TRY(lock(false));
  std::vector<std::string> problems;
  auto index_ref = STASIS_TRY(load_index(problems));
  auto& index = *index_ref;
  return job_usage_locked(index, job, nullptr, nullptr);
}

Result<Usage> Store::usage() const {
  auto held = STASIS_TRY(lock(false));
  std::vector<std::string> problems;
  auto index_ref = STASIS_TRY(load_index(problems));
  auto& index = *index_ref;
  Usage usage;
  HashSet all;
  for (const auto& job : STASIS_TRY(m_catalog.jobs())) {
    auto ju = job_usage_locked(index, job, &usage.manifest_bytes, &all);
    if (ju.checkpoints == 0) {
      continue;
    }
    usage.logical_bytes += ju.logical_bytes;
    usage.jobs.push_back(ju);
  }
  for (const auto& h : all) {
    if (const auto* loc = index.find(h)) {
      usage.referenced_bytes += loc->stored_len;
    }
  }
  for (std::uint32_t p = 0; p < index.pack_names().size(); ++p) {
    std::error_code ec;
    usage.pack_bytes += fs::file_size(index.pack_path(p), ec);
  }
  return usage;
}

} // namespace stasis::store
