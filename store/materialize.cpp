// Materialize: writing a checkpoint's files back as a plain CRIU images dir.
//
// Files are cut into extents of up to 4 MiB that worker threads take in turn.
// A worker decodes an extent into one buffer (blobs stored raw and adjacent
// in a pack are read with one pread), checks every chunk's SHA-256 and
// writes the extent's non-zero runs with one pwrite each; zero chunks stay
// holes of the sparse file. Files are created through an OutputDir: relative
// to the dir's descriptor, never through a symlink, always 0644.
#include "store/parallel.hpp"
#include "store/reader.hpp"

#include <atomic>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::store {
namespace {

constexpr std::uint64_t k_extent_bytes = 4 << 20;

// A run of consecutive chunks of one file.
struct Extent {
  std::size_t file = 0;
  std::uint64_t offset = 0; // in the file
  std::size_t first = 0;    // index of the first chunk in the file's chunks
  std::size_t count = 0;
  std::uint64_t bytes = 0;
};

Result<void> pwrite_all(int fd, std::span<const std::uint8_t> data, std::uint64_t offset,
                        const fs::path& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return make_error("cannot write {}: {}", path.string(),
                        n < 0 ? errno_text() : "short write");
    }
    done += static_cast<std::size_t>(n);
  }
  return ok();
}

// Decodes and checks the chunks of one extent into buffer.
Result<void> decode_extent(const BlobIndex& index, std::span<const ChunkRef> refs,
                           std::span<std::uint8_t> buffer,
                           std::vector<std::uint8_t>& scratch) {
  std::size_t pos = 0;
  for (std::size_t j = 0; j < refs.size();) {
    const ChunkRef& r = refs[j];
    if (r.hash.is_zero()) {
      pos += r.size;
      ++j;
      continue;
    }
    const BlobLocation* loc = index.find(r.hash);
    if (loc == nullptr) {
      return make_error("blob {} is missing from the store", to_hex(r.hash));
    }
    if (loc->raw_len != r.size) {
      return make_error("blob {} has {} bytes, its chunk list says {}", to_hex(r.hash),
                        loc->raw_len, r.size);
    }
    if (loc->codec != Codec::Raw) {
      scratch.resize(loc->stored_len);
      STASIS_TRY(index.read_span(loc->pack, loc->offset, scratch));
      STASIS_TRY(index.decode(r.hash, *loc, scratch, buffer.subspan(pos, r.size)));
      pos += r.size;
      ++j;
      continue;
    }
    // A run of raw blobs that lie back to back in one pack: one read.
    std::size_t end = j + 1;
    std::uint64_t next = loc->offset + loc->stored_len;
    std::uint64_t run = r.size;
    for (; end < refs.size() && !refs[end].hash.is_zero(); ++end) {
      const BlobLocation* l = index.find(refs[end].hash);
      if (l == nullptr || l->pack != loc->pack || l->codec != Codec::Raw ||
          l->offset != next || l->stored_len != refs[end].size ||
          l->raw_len != refs[end].size) {
        break;
      }
      next += l->stored_len;
      run += l->stored_len;
    }
    STASIS_TRY(index.read_span(loc->pack, loc->offset, buffer.subspan(pos, run)));
    for (std::size_t k = j; k < end; ++k) {
      STASIS_TRY(index.check(refs[k].hash, *loc, buffer.subspan(pos, refs[k].size)));
      pos += refs[k].size;
    }
    j = end;
  }
  return ok();
}

// Writes the non-zero runs of a decoded extent.
Result<void> write_extent(int fd, const fs::path& path, std::span<const ChunkRef> refs,
                          std::span<const std::uint8_t> buffer, std::uint64_t offset) {
  std::size_t pos = 0;
  for (std::size_t j = 0; j < refs.size();) {
    if (refs[j].hash.is_zero()) {
      pos += refs[j].size;
      ++j;
      continue;
    }
    std::size_t start = pos;
    for (; j < refs.size() && !refs[j].hash.is_zero(); ++j) {
      pos += refs[j].size;
    }
    STASIS_TRY(pwrite_all(fd, buffer.subspan(start, pos - start), offset + start, path));
  }
  return ok();
}

} // namespace

Result<void> write_checkpoint(const BlobIndex& index, const Manifest& manifest,
                              OutputDir& out, const ProgressFn& progress) {
  const fs::path& dir = out.path();
  std::vector<util::UniqueFd> fds;
  std::vector<std::vector<ChunkRef>> chunks(manifest.files.size());
  std::vector<Extent> extents;
  std::set<std::string> bad_files;
  std::string first_problem;
  auto note = [&](const std::string& file, const std::string& problem) {
    bad_files.insert(file);
    if (first_problem.empty()) {
      first_problem = problem;
    }
  };
  for (std::size_t i = 0; i < manifest.files.size(); ++i) {
    const auto& f = manifest.files[i];
    auto path = dir / f.name;
    auto fd = STASIS_TRY(out.create(f.name));
    if (::ftruncate(fd.get(), static_cast<off_t>(f.size)) != 0) {
      return make_error("cannot size {}: {}", path.string(), errno_text());
    }
    fds.push_back(std::move(fd));
    auto refs = file_chunks(index, f);
    if (!refs) {
      note(f.name, refs.error().message);
      continue;
    }
    chunks[i] = std::move(*refs);
    Extent e{i, 0, 0, 0, 0};
    for (std::size_t j = 0; j < chunks[i].size(); ++j) {
      std::uint32_t size = chunks[i][j].size;
      if (e.count > 0 && e.bytes + size > k_extent_bytes) {
        extents.push_back(e);
        e = {i, e.offset + e.bytes, j, 0, 0};
      }
      ++e.count;
      e.bytes += size;
    }
    if (e.count > 0) {
      extents.push_back(e);
    }
  }
  std::uint64_t total = 0;
  for (const auto& f : manifest.files) {
    total += f.size;
  }
  ProgressMeter meter(progress, total);
  std::mutex mutex;
  std::string write_error;
  std::atomic<std::size_t> next{0};
  parallel_for(
      worker_count(),
      [&](std::size_t, std::size_t) {
        std::vector<std::uint8_t> buffer;
        std::vector<std::uint8_t> scratch;
        for (std::size_t x = next++; x < extents.size(); x = next++) {
          const Extent& e = extents[x];
          const auto& name = manifest.files[e.file].name;
          std::span<const ChunkRef> refs{chunks[e.file].data() + e.first, e.count};
          buffer.resize(e.bytes);
          auto decoded = decode_extent(index, refs, buffer, scratch);
          if (!decoded) {
            std::lock_guard lock(mutex);
            note(name, fmt::format("{}: {}", name, decoded.error().message));
            continue;
          }
          auto written =
              write_extent(fds[e.file].get(), dir / name, refs, buffer, e.offset);
          if (!written) {
            std::lock_guard lock(mutex);
            if (write_error.empty()) {
              write_error = written.error().message;
            }
          }
          meter.advance(e.bytes);
        }
      },
      1);
  if (!bad_files.empty()) {
    std::string names;
    for (const auto& n : bad_files) {
      names += (names.empty() ? "" : ", ") + n;
    }
    return make_error("checkpoint {}/{} is damaged; cannot restore {} ({})", manifest.job,
                      manifest.id, names, first_problem);
  }
  if (!write_error.empty()) {
    return make_error("{}", write_error);
  }
  meter.finish();
  return ok();
}

} // namespace stasis::store
