// The blob locations a lazy restore needs, found without building the store's
// full BlobIndex: every pack's entries table is read (and checked) in
// parallel into one flat open-addressing table, which answers lookups for
// just the hashes of one checkpoint.
#pragma once

#include "store/blob_index.hpp"
#include "store/parallel.hpp"
#include "util/log.hpp"

#include <bit>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace stasis::store {

class LazySourceIndex {
public:
  // Reads the entries tables of every committed pack in dir. A pack that
  // cannot be read is an error (a lazy restore must not start on a store
  // whose blobs may be missing).
  static Result<LazySourceIndex> load(const fs::path& dir) {
    LazySourceIndex index;
    auto names = STASIS_TRY(list_packs(dir));
    std::vector<Result<std::vector<PackEntry>>> read(names.size(),
                                                     std::vector<PackEntry>{});
    parallel_for(
        names.size(),
        [&](std::size_t begin, std::size_t end) {
          for (std::size_t i = begin; i < end; ++i) {
            auto path = dir / names[i];
            util::UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
            read[i] = fd ? read_pack_entries(fd.get(), path)
                         : Result<std::vector<PackEntry>>(make_error(
                               "cannot open pack {}: {}", path.string(), errno_text()));
          }
        },
        1);
    // Packs that cannot be read are skipped, as in BlobIndex::load: their
    // blobs are then missing, which open() reports if the checkpoint needs them.
    std::size_t total = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (read[i]) {
        index.m_names.push_back(names[i]);
        total += read[i]->size();
        index.m_tables.push_back(std::move(*read[i]));
      } else {
        log::get("store")->warn("{}", read[i].error().message);
      }
    }
    index.m_slots.assign(std::bit_ceil(std::max<std::size_t>(2 * total, 16)), 0);
    index.m_mask = index.m_slots.size() - 1;
    for (std::uint64_t pack = 0; pack < index.m_tables.size(); ++pack) {
      const auto& table = index.m_tables[pack];
      for (std::uint64_t i = 0; i < table.size(); ++i) {
        // The first pack holding a blob wins, as in BlobIndex::load.
        auto& slot = index.slot(table[i].hash);
        if (slot == 0) {
          slot = pack << 32 | (i + 1);
        }
      }
    }
    return index;
  }

  // The location of hash (pack numbers follow pack_names()), or nullopt.
  std::optional<BlobLocation> find(const Hash& hash) const {
    auto s = const_cast<LazySourceIndex*>(this)->slot(hash);
    if (s == 0) {
      return std::nullopt;
    }
    const auto& e = entry(s);
    return BlobLocation{static_cast<std::uint32_t>(s >> 32), e.stored_len, e.offset,
                        e.raw_len, e.codec};
  }

  // A BlobIndex over the same packs (same pack numbers) that knows only the
  // blobs in hashes; unknown hashes are left out (find() them first).
  Result<BlobIndex> subset(const fs::path& dir, const std::vector<Hash>& hashes) const {
    std::vector<std::vector<PackEntry>> per_pack(m_names.size());
    for (const auto& h : hashes) {
      auto s = const_cast<LazySourceIndex*>(this)->slot(h);
      if (s != 0) {
        per_pack[s >> 32].push_back(entry(s));
      }
    }
    auto index = BlobIndex::empty(dir);
    for (std::size_t pack = 0; pack < m_names.size(); ++pack) {
      STASIS_TRY(index.add_pack(m_names[pack], per_pack[pack]));
    }
    return index;
  }

private:
  // A slot holds pack << 32 | (entry number in the pack + 1); 0 is empty.
  const PackEntry& entry(std::uint64_t slot) const {
    return m_tables[slot >> 32][(slot & 0xffffffffU) - 1];
  }
  // The slot of hash, or the empty slot it would take.
  std::uint64_t& slot(const Hash& hash) {
    std::uint64_t key = 0;
    std::memcpy(&key, hash.bytes.data(), sizeof key);
    for (std::size_t i = key & m_mask;; i = (i + 1) & m_mask) {
      auto& s = m_slots[i];
      if (s == 0 || entry(s).hash == hash) {
        return s;
      }
    }
  }

  std::vector<std::string> m_names;
  std::vector<std::vector<PackEntry>> m_tables; // of each pack
  std::vector<std::uint64_t> m_slots;
  std::size_t m_mask = 0;
};

} // namespace stasis::store
