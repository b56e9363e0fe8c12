#include "store/page_server_batch.hpp"

#include "store/parallel.hpp"

#include <unordered_set>

namespace stasis::store {

void store_batch(BlobSink& sink, PageBatch& b, std::atomic<bool>& failed) {
  parallel_for(
      b.count,
      [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
          std::span<const std::uint8_t> bytes{b.page(i), k_page_size};
          b.refs[i] = {all_zero(bytes) ? Hash{} : sha256(bytes),
                       static_cast<std::uint32_t>(k_page_size)};
        }
      },
      256);
  std::vector<std::size_t> todo;
  std::unordered_set<Hash, HashHasher> seen;
  for (std::size_t i = 0; i < b.count; ++i) {
    const auto& h = b.refs[i].hash;
    if (!h.is_zero() && !sink.has(h) && seen.insert(h).second) {
      todo.push_back(i);
    }
  }
  std::vector<std::vector<std::uint8_t>> encoded(todo.size());
  std::vector<Codec> codecs(todo.size());
  parallel_for(
      todo.size(),
      [&](std::size_t begin, std::size_t end) {
        // Incompressible runs skip zstd except every 16th page (as ingest does).
        std::size_t misses = 0;
        for (std::size_t j = begin; j < end; ++j) {
          std::span<const std::uint8_t> bytes{b.page(todo[j]), k_page_size};
          if (misses >= 32 && j % 16 != 0) {
            codecs[j] = Codec::Raw;
            continue;
          }
          codecs[j] = compress(bytes, encoded[j]);
          misses = codecs[j] == Codec::Raw ? misses + 1 : 0;
        }
      },
      64);
  for (std::size_t j = 0; j < todo.size(); ++j) {
    // Raw pages are stored as they are (compress() leaves them out).
    std::span<const std::uint8_t> stored =
        codecs[j] == Codec::Raw
            ? std::span<const std::uint8_t>(b.page(todo[j]), k_page_size)
            : std::span<const std::uint8_t>(encoded[j]);
    auto put = sink.put(b.refs[todo[j]].hash, codecs[j],
                        static_cast<std::uint32_t>(k_page_size), stored);
    if (!put) {
      b.result = put;
      failed = true;
      return;
    }
  }
}

} // namespace stasis::store
