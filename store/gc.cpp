#include "store/gc.hpp"

#include "store/blob_sink.hpp"
#include "store/reader.hpp"
#include "util/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::store {

Result<HashSet> mark_live(const BlobIndex& index, const Catalog& catalog) {
  HashSet live;
  HashSet lists_seen;
  std::vector<ChunkRef> refs;
  std::vector<std::uint8_t> blob;
  for (const auto& job : STASIS_TRY(catalog.jobs())) {
    for (auto id : STASIS_TRY(catalog.ids(job))) {
      auto manifest = catalog.load(job, id);
      if (!manifest) {
        return make_error("garbage collection stopped: {}", manifest.error().message);
      }
      for (const auto& f : manifest->files) {
        for (const auto& list : f.lists) {
          live.insert(list);
          if (!lists_seen.insert(list).second) {
            continue;
          }
          auto read = index.read(list, blob);
          if (!read) {
            return make_error("garbage collection stopped: checkpoint {}/{} file {}: {}", job,
                              id, f.name, read.error().message);
          }
          refs.clear();
          STASIS_TRY(decode_chunk_list(blob, refs));
          for (const auto& r : refs) {
            if (!r.hash.is_zero()) {
              live.insert(r.hash);
            }
          }
        }
      }
    }
  }
  return live;
}

Result<GcReport> sweep(BlobIndex& index, const fs::path& packs_dir, const HashSet& live) {
  GcReport report;
  auto logger = log::get("store");
  std::vector<std::string> to_delete;
  std::vector<std::pair<std::uint32_t, std::vector<PackEntry>>> to_repack;
  const auto packs = index.pack_names();
  for (std::uint32_t p = 0; p < packs.size(); ++p) {
    auto path = packs_dir / packs[p];
    util::UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd) {
      continue;
    }
    auto entries = STASIS_TRY(read_pack_entries(fd.get(), path));
    std::uint64_t total = 0, live_bytes = 0;
    std::vector<PackEntry> keep;
    for (const auto& e : entries) {
      total += e.stored_len;
      const auto* loc = index.find(e.hash);
      bool canonical = loc != nullptr && loc->pack == p && loc->offset == e.offset;
      if (canonical && live.contains(e.hash)) {
        live_bytes += e.stored_len;
        keep.push_back(e);
      }
    }
    struct stat st {};
    ::fstat(fd.get(), &st);
    if (keep.empty()) {
      to_delete.push_back(packs[p]);
      report.bytes_freed += static_cast<std::uint64_t>(st.st_size);
    } else if (static_cast<double>(live_bytes) < k_repack_below * static_cast<double>(total)) {
      to_repack.emplace_back(p, std::move(keep));
      report.bytes_freed += total - live_bytes;
    }
  }
  if (!to_repack.empty()) {
    // Copy live blobs (still encoded) into new packs; the old locations stay in
    // the index until the old packs are removed, so the sink sees them as
    // present: write through a private index instead.
    BlobIndex fresh = BlobIndex::empty(packs_dir);
    BlobSink sink(fresh, packs_dir);
    std::vector<std::uint8_t> stored;
    for (const auto& [pack, entries] : to_repack) {
      for (const auto& e : entries) {
        BlobLocation loc{pack, e.stored_len, e.offset, e.raw_len, e.codec};
        auto read = index.read_stored(loc, stored);
        if (!read) {
          sink.rollback();
          return make_error("repacking {} failed: {}", packs[pack], read.error().message);
        }
        auto put = sink.put(e.hash, e.codec, e.raw_len, stored);
        if (!put) {
          sink.rollback();
          return make_error("repacking {} failed: {}", packs[pack], put.error().message);
        }
      }
      to_delete.push_back(packs[pack]);
      ++report.packs_repacked;
    }
    auto flushed = sink.flush();
    if (!flushed) {
      sink.rollback();
      return make_error("repacking failed: {}", flushed.error().message);
    }
    report.packs_written = sink.packs().size();
    sink.release();
  }
  for (const auto& name : to_delete) {
    if (::unlink((packs_dir / name).c_str()) != 0 && errno != ENOENT) {
      return make_error("cannot remove pack {}: {}", name, errno_text());
    }
    logger->debug("gc: removed pack {}", name);
  }
  report.packs_deleted = to_delete.size() - report.packs_repacked;
  if (!to_delete.empty()) {
    STASIS_TRY(fsync_dir(packs_dir));
  }
  return report;
}

} // namespace stasis::store
