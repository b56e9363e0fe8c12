#include "store/pieces.hpp"

#include "store/parallel.hpp"

#include <atomic>
#include <future>
#include <unordered_set>

namespace stasis::store {
namespace {

constexpr std::uint64_t k_segment_bytes = 8 << 20;

// A run of pieces whose bytes are read together.
struct Segment {
  std::size_t base = 0;
  std::size_t count = 0;
  std::uint64_t offset = 0; // of the first byte to read
  std::uint64_t bytes = 0;  // to read
};

std::vector<Segment> plan_segments(const std::vector<Piece>& pieces) {
  std::vector<Segment> out;
  Segment seg;
  bool have_data = false;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    if (!p.resolved) {
      std::uint64_t end = p.offset + p.size;
      if (have_data && end - seg.offset > k_segment_bytes) {
        out.push_back(seg);
        seg = {i, 0, p.offset, 0};
      } else if (!have_data) {
        seg.offset = p.offset;
      }
      have_data = true;
      seg.bytes = end - seg.offset;
    }
    ++seg.count;
  }
  if (seg.count > 0) {
    out.push_back(seg);
  }
  return out;
}

// Points the segment's pieces at their bytes, read into buffer if needed.
Result<void> load_segment(const Source& source, const Segment& seg,
                          std::vector<std::uint8_t>& buffer, std::vector<Piece>& pieces) {
  const std::uint8_t* base = nullptr;
  if (source.fd < 0) {
    if (seg.offset + seg.bytes > source.memory.size()) {
      return make_error("{} changed while it was stored", source.path.string());
    }
    base = source.memory.data() + seg.offset;
  } else {
    buffer.resize(seg.bytes);
    STASIS_TRY(pread_exact(source.fd, buffer, seg.offset, source.path));
    base = buffer.data();
  }
  for (std::size_t i = seg.base; i < seg.base + seg.count; ++i) {
    if (!pieces[i].resolved) {
      pieces[i].data = base + (pieces[i].offset - seg.offset);
    }
  }
  return ok();
}

} // namespace

Result<std::vector<Hash>> store_pieces(BlobSink& sink, std::vector<Piece>& pieces,
                                       std::size_t per_list, const Source& source,
                                       ProgressMeter* progress) {
  std::vector<std::vector<std::uint8_t>> encoded;
  std::vector<Codec> codecs;
  std::vector<std::uint8_t> buffers[2];
  auto segments = plan_segments(pieces);
  // Chunks that zstd could not shrink in a row: incompressible runs (random
  // or encrypted data) skip zstd except for every 16th chunk, which probes
  // whether that has changed.
  std::atomic<std::size_t> misses_carry{0};
  std::future<Result<void>> next;
  if (!segments.empty()) {
    next = std::async(std::launch::deferred, [&] {
      return load_segment(source, segments[0], buffers[0], pieces);
    });
  }
  for (std::size_t s = 0; s < segments.size(); ++s) {
    STASIS_TRY(next.get());
    if (s + 1 < segments.size()) {
      next = std::async(std::launch::async, [&, s] {
        return load_segment(source, segments[s + 1], buffers[(s + 1) % 2], pieces);
      });
    }
    std::size_t base = segments[s].base;
    std::size_t n = segments[s].count;
    parallel_for(n, [&](std::size_t b, std::size_t e) {
      for (std::size_t i = base + b; i < base + e; ++i) {
        Piece& p = pieces[i];
        if (p.resolved) {
          continue;
        }
        std::span<const std::uint8_t> bytes{p.data, p.size};
        if (p.fingerprinted) {
          p.fast = fast_hash(bytes);
          if (p.has_expected && p.fast == p.expected) {
            p.ref = p.parent_ref;
            p.resolved = true;
            continue;
          }
        }
        p.ref = {all_zero(bytes) ? Hash{} : sha256(bytes), p.size};
        p.resolved = true;
      }
    });
    std::vector<std::size_t> todo;
    std::unordered_set<Hash, HashHasher> seen;
    for (std::size_t i = base; i < base + n; ++i) {
      const auto& p = pieces[i];
      if (p.ref.hash.is_zero() || sink.has(p.ref.hash) ||
          !seen.insert(p.ref.hash).second) {
        continue;
      }
      if (p.data == nullptr) {
        return make_error("chunk {} of the parent checkpoint is missing from the store",
                          to_hex(p.ref.hash));
      }
      todo.push_back(i);
    }
    encoded.resize(todo.size());
    codecs.resize(todo.size());
    parallel_for(
        todo.size(),
        [&](std::size_t b, std::size_t e) {
          std::size_t misses = misses_carry.load();
          for (std::size_t j = b; j < e; ++j) {
            const auto& p = pieces[todo[j]];
            if (misses >= 32 && j % 16 != 0) {
              codecs[j] = Codec::Raw;
              continue;
            }
            codecs[j] = compress({p.data, p.size}, encoded[j]);
            misses = codecs[j] == Codec::Raw ? misses + 1 : 0;
          }
          misses_carry.store(misses);
        },
        16);
    for (std::size_t j = 0; j < todo.size(); ++j) {
      const auto& p = pieces[todo[j]];
      std::span<const std::uint8_t> stored{p.data, p.size};
      if (codecs[j] != Codec::Raw) {
        stored = encoded[j];
      }
      STASIS_TRY(sink.put(p.ref.hash, codecs[j], p.size, stored));
    }
    for (std::size_t i = base; i < base + n; ++i) {
      pieces[i].data = nullptr;
    }
    if (progress != nullptr) {
      progress->advance(segments[s].bytes);
    }
  }
  std::vector<Hash> lists;
  std::vector<ChunkRef> current;
  std::uint64_t group = 0;
  auto flush_list = [&]() -> Result<void> {
    auto blob = encode_chunk_list(current);
    lists.push_back(STASIS_TRY(sink.put_raw(blob)));
    current.clear();
    return ok();
  };
  for (const auto& p : pieces) {
    if (!current.empty() && (p.group != group || current.size() >= per_list)) {
      STASIS_TRY(flush_list());
    }
    group = p.group;
    current.push_back(p.ref);
  }
  if (!current.empty()) {
    STASIS_TRY(flush_list());
  }
  return lists;
}

} // namespace stasis::store
