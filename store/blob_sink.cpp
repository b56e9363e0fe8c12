#include "store/blob_sink.hpp"

#include <algorithm>
#include <unistd.h>

namespace stasis::store {

BlobSink::~BlobSink() {
  if (m_writer) {
    m_writer->abandon();
  }
  for (auto& sealed : m_sealed) {
    sealed->abandon();
  }
}

Result<void> BlobSink::put(const Hash& hash, Codec codec, std::uint32_t raw_len,
                           std::span<const std::uint8_t> stored) {
  if (has(hash)) {
    return ok();
  }
  if (m_limit && stored.size() > *m_limit - std::min(*m_limit, m_stored_bytes)) {
    return make_error("storing it would add more than the {} bytes it may add to the "
                      "store",
                      *m_limit);
  }
  if (!m_writer) {
    m_writer = STASIS_TRY(PackWriter::create(m_dir));
  }
  STASIS_TRY(m_writer->append(hash, codec, raw_len, stored));
  m_pending.insert(hash);
  m_stored_bytes += stored.size();
  if (m_writer->size() >= k_pack_target_size) {
    // Full: finish it now (its writeback runs in the background) and commit
    // it with the others in flush(), so no fsync stalls the ingest midway.
    STASIS_TRY(m_writer->seal());
    m_sealed.push_back(std::move(m_writer));
  }
  return ok();
}

Result<Hash> BlobSink::put_raw(std::span<const std::uint8_t> raw) {
  Hash hash = sha256(raw);
  if (!has(hash)) {
    thread_local std::vector<std::uint8_t> stored;
    Codec codec = compress(raw, stored);
    STASIS_TRY(put(hash, codec, static_cast<std::uint32_t>(raw.size()),
                   codec == Codec::Raw ? raw : std::span<const std::uint8_t>(stored)));
  }
  return hash;
}

Result<void> BlobSink::flush() {
  if (m_writer && !m_writer->empty()) {
    STASIS_TRY(m_writer->seal());
    m_sealed.push_back(std::move(m_writer));
  }
  m_writer.reset();
  if (m_sealed.empty()) {
    return ok();
  }
  // Every pack is durable under its final name before the directory is
  // fsynced once; only then do the packs enter the index.
  for (auto& writer : m_sealed) {
    STASIS_TRY(writer->commit(false));
    m_committed.push_back(writer->name());
  }
  STASIS_TRY(fsync_dir(m_dir));
  for (auto& writer : m_sealed) {
    STASIS_TRY(m_index.add_pack(writer->name(), writer->entries()));
  }
  m_sealed.clear();
  return ok();
}

void BlobSink::rollback() {
  if (m_writer) {
    m_writer->abandon();
    m_writer.reset();
  }
  for (auto& sealed : m_sealed) {
    sealed->abandon();
  }
  m_sealed.clear();
  for (const auto& name : m_committed) {
    ::unlink((m_dir / name).c_str());
  }
  if (!m_committed.empty()) {
    (void)fsync_dir(m_dir);
  }
  m_committed.clear();
}

} // namespace stasis::store
