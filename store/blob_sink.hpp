// Writes new blobs into packs for one operation (ingest, import, repack) and
// either commits them all or leaves no trace.
#pragma once

#include "store/blob_index.hpp"

#include <optional>
#include <unordered_set>

namespace stasis::store {

// Target size of a pack file before a new one is started.
inline constexpr std::uint64_t k_pack_target_size = 64ULL << 20;

class BlobSink {
public:
  BlobSink(BlobIndex& index, fs::path packs_dir)
      : m_index(index), m_dir(std::move(packs_dir)) {}
  ~BlobSink();
  BlobSink(const BlobSink&) = delete;
  BlobSink& operator=(const BlobSink&) = delete;

  // Refuses (put fails) to write more than max_bytes of new stored bytes;
  // nullopt: no limit.
  void set_limit(std::optional<std::uint64_t> max_bytes) { m_limit = max_bytes; }

  // True when the blob is already stored or written by this sink.
  bool has(const Hash& hash) const {
    return m_pending.contains(hash) || m_index.contains(hash);
  }

  // Appends an already encoded blob unless it is present.
  Result<void> put(const Hash& hash, Codec codec, std::uint32_t raw_len,
                   std::span<const std::uint8_t> stored);
  // Compresses and appends a blob unless it is present; returns its hash.
  Result<Hash> put_raw(std::span<const std::uint8_t> raw);

  // Makes everything written so far durable (packs renamed into place and
  // added to the index). Until the caller's commit point, rollback() undoes it.
  Result<void> flush();
  // Removes every pack this sink wrote, committed or not.
  void rollback();
  // Forgets the written packs (they are now referenced).
  void release() { m_committed.clear(); }

  std::uint64_t stored_bytes() const { return m_stored_bytes; }
  std::size_t blobs_written() const { return m_pending.size(); }
  const std::vector<std::string>& packs() const { return m_committed; }

private:
  BlobIndex& m_index;
  fs::path m_dir;
  std::unique_ptr<PackWriter> m_writer;
  std::vector<std::unique_ptr<PackWriter>> m_sealed; // full, not yet committed
  std::unordered_set<Hash, HashHasher> m_pending;
  std::vector<std::string> m_committed;
  std::uint64_t m_stored_bytes = 0;
  std::optional<std::uint64_t> m_limit;
};

} // namespace stasis::store
