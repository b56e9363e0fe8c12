// The in-memory index of every blob: hash -> (pack, offset, lengths), built
// from the entries tables of all packs.
#pragma once

#include "store/pack.hpp"

#include <unordered_map>

namespace stasis::store {

// Where a blob lives.
struct BlobLocation {
  std::uint32_t pack = 0;
  std::uint32_t stored_len = 0;
  std::uint64_t offset = 0;
  std::uint32_t raw_len = 0;
  Codec codec = Codec::Raw;
};

// Blobs of all packs in a directory. Reads are thread-safe; changes are not.
class BlobIndex {
public:
  // Loads every *.pack in dir. Packs that cannot be read are skipped and
  // described in problems (their blobs are then missing).
  static Result<BlobIndex> load(const fs::path& dir, std::vector<std::string>& problems);
  // An index of no packs whose new packs go to dir.
  static BlobIndex empty(const fs::path& dir) {
    BlobIndex index;
    index.m_dir = dir;
    return index;
  }

  const BlobLocation* find(const Hash& hash) const;
  bool contains(const Hash& hash) const { return find(hash) != nullptr; }

  // Brings a loaded index up to date with the packs now in its dir (another
  // process or Store object may have added or removed some): new packs are
  // read and added, removed packs' blobs dropped (pack numbers change), so
  // no unchanged pack is read again; only when some blob is in two packs is
  // everything reloaded. Packs that cannot be read go to problems.
  Result<void> refresh(std::vector<std::string>& problems);

  // Registers a committed pack and its entries (after PackWriter::commit).
  Result<void> add_pack(const std::string& name, const std::vector<PackEntry>& entries);

  // Reads, decompresses and verifies one blob (zero hash: raw_len zero bytes).
  Result<void> read(const Hash& hash, std::vector<std::uint8_t>& out) const;
  // Reads a blob's stored (possibly compressed) bytes without decoding them.
  Result<void> read_stored(const BlobLocation& loc, std::vector<std::uint8_t>& out) const;

  // Decodes a blob whose stored bytes are in stored into out (raw_len bytes)
  // and checks its content hash; errors name the blob and its pack.
  Result<void> decode(const Hash& hash, const BlobLocation& loc,
                      std::span<const std::uint8_t> stored,
                      std::span<std::uint8_t> out) const;
  // Checks that data (a decoded blob) has the content hash.
  Result<void> check(const Hash& hash, const BlobLocation& loc,
                     std::span<const std::uint8_t> data) const;
  // Reads len bytes of pack at offset (e.g. several adjacent blobs at once).
  Result<void> read_span(std::uint32_t pack, std::uint64_t offset,
                         std::span<std::uint8_t> out) const;

  const std::vector<std::string>& pack_names() const { return m_packs; }
  fs::path pack_path(std::uint32_t pack) const { return m_dir / m_packs[pack]; }
  std::size_t size() const { return m_map.size(); }
  const std::unordered_map<Hash, BlobLocation, HashHasher>& blobs() const {
    return m_map;
  }

private:
  // Opens one pack and registers its entries; failures go to problems.
  void load_pack(const std::string& name, std::vector<std::string>& problems);

  static constexpr std::uint32_t k_gone = ~std::uint32_t{0};

  fs::path m_dir;
  bool m_duplicates = false; // some blob is in more than one pack
  std::vector<std::string> m_packs;
  std::vector<util::UniqueFd> m_fds;
  std::unordered_map<Hash, BlobLocation, HashHasher> m_map;
};

// Names of the committed packs in dir (not temporaries).
Result<std::vector<std::string>> list_packs(const fs::path& dir);

} // namespace stasis::store
