// The blob locations a lazy restore needs, found without building the store's
// full BlobIndex: every pack's entries table is read (and checked) in
// parallel into one flat open-addressing table, which answers lookups for
// just the hashes of one checkpoint.
#pragma once

#include "store/blob_index.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace stasis::store {

class LazySourceIndex {
public:
  // Reads the entries tables of every committed pack in dir. Packs that
  // cannot be read are skipped with a warning, as in BlobIndex::load: their
  // blobs are then missing, which LazySource::open reports up front when the
  // checkpoint needs them.
  static Result<LazySourceIndex> load(const fs::path& dir);

  // As load(dir), but a pack that previous read already (same name, inode,
  // size and modification time: committed packs are never changed in place)
  // keeps the entries table read then instead of being opened again.
  static Result<LazySourceIndex> load(const fs::path& dir,
                                      const LazySourceIndex* previous);

  // The location of hash (pack numbers follow the packs' order), or nullopt.
  std::optional<BlobLocation> find(const Hash& hash) const;

  // A BlobIndex over the same packs (same pack numbers) that knows only the
  // blobs in hashes; unknown hashes are left out (find() them first).
  Result<BlobIndex> subset(const fs::path& dir, const std::vector<Hash>& hashes) const;

private:
  // What identifies one version of a pack file.
  struct PackIdentity {
    ino_t inode = 0;
    off_t size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const PackIdentity&) const = default;
  };

  // A slot holds pack << 32 | (entry number in the pack + 1); 0 is empty.
  const PackEntry& entry(std::uint64_t slot) const;
  // The position of hash's slot, or of the empty slot it would take.
  std::size_t position(const Hash& hash) const;

  std::vector<std::string> m_names;
  std::vector<PackIdentity> m_identities;       // of each pack
  std::vector<std::vector<PackEntry>> m_tables; // of each pack
  std::vector<std::uint64_t> m_slots;
  std::size_t m_mask = 0;
};

// The last LazySourceIndex of one packs dir, kept in memory between lazy
// restores (stasisd's), so that a lazy restore reads only the packs written
// since. Thread-safe.
class LazySourceIndexCache {
public:
  // An index of dir's packs now (see LazySourceIndex::load).
  Result<LazySourceIndex> load(const fs::path& dir);

private:
  std::mutex m_mutex;
  fs::path m_dir;
  std::optional<LazySourceIndex> m_last;
};

} // namespace stasis::store
