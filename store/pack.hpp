// Pack files: many compressed blobs in one file, with their index at the end.
//
// Layout (little-endian):
//   header  "STASPACK" | u32 version (1) | u32 reserved
//   blobs   stored bytes back to back
//   entries N x { hash[32] | u64 offset | u32 stored_len | u32 raw_len |
//                 u32 codec | u32 reserved }
//   footer  u64 entries_offset | u64 N | sha256(entries)[32] | "STASPEND"
// A pack is written under a temporary name, fsynced and renamed to
// <random>.pack; it is never modified afterwards (GC deletes or repacks).
#pragma once

#include "store/codec.hpp"
#include "store/fs_util.hpp"
#include "store/hash.hpp"

#include <memory>
#include <vector>

namespace stasis::store {

// One blob as recorded in a pack's entries table.
struct PackEntry {
  Hash hash;
  std::uint64_t offset = 0;
  std::uint32_t stored_len = 0;
  std::uint32_t raw_len = 0;
  Codec codec = Codec::Raw;
};

// File name suffix of packs.
inline constexpr std::string_view k_pack_suffix = ".pack";

// Appends blobs to a new pack; commit() makes it durable and visible.
class PackWriter {
public:
  // Creates a temporary pack file in dir.
  static Result<std::unique_ptr<PackWriter>> create(const fs::path& dir);
  ~PackWriter();
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  // Appends one blob and returns its offset in the pack.
  Result<std::uint64_t> append(const Hash& hash, Codec codec, std::uint32_t raw_len,
                               std::span<const std::uint8_t> stored);
  // Bytes written so far (blobs + header).
  std::uint64_t size() const { return m_offset; }
  bool empty() const { return m_entries.empty(); }
  // Final file name (<random>.pack) the pack gets on commit.
  const std::string& name() const { return m_name; }
  const std::vector<PackEntry>& entries() const { return m_entries; }

  // Writes the entries and footer and starts writing the pack back to disk
  // (no waiting); no more blobs can be appended.
  Result<void> seal();
  // Seals, fsyncs and renames into place; with sync_dir also fsyncs the dir
  // (a caller committing several packs fsyncs it once itself).
  Result<void> commit(bool sync_dir = true);
  // Removes the temporary file (no-op after commit).
  void abandon();

private:
  PackWriter() = default;
  Result<void> flush();

  util::UniqueFd m_fd;
  std::uint64_t m_written = 0;
  bool m_sealed = false;
  fs::path m_dir;
  fs::path m_temp;
  std::string m_name;
  std::vector<std::uint8_t> m_buffer;
  std::vector<PackEntry> m_entries;
  std::uint64_t m_offset = 0;
  bool m_committed = false;
};

// Reads and checks the entries table of a pack (magic, footer, checksum).
Result<std::vector<PackEntry>> read_pack_entries(int fd, const fs::path& path);

} // namespace stasis::store
