#include "store/lazy_source_index.hpp"

#include "store/parallel.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>

namespace stasis::store {

Result<LazySourceIndex> LazySourceIndex::load(const fs::path& dir) {
  return load(dir, nullptr);
}

Result<LazySourceIndex> LazySourceIndex::load(const fs::path& dir,
                                              const LazySourceIndex* previous) {
  LazySourceIndex index;
  auto names = STASIS_TRY(list_packs(dir));
  std::vector<Result<std::vector<PackEntry>>> read(names.size(),
                                                   std::vector<PackEntry>{});
  std::vector<PackIdentity> identities(names.size());
  std::unordered_map<std::string, std::size_t> known;
  if (previous != nullptr) {
    for (std::size_t i = 0; i < previous->m_names.size(); ++i) {
      known.emplace(previous->m_names[i], i);
    }
  }
  parallel_for(
      names.size(),
      [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) {
          auto path = dir / names[i];
          util::UniqueFd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
          if (!fd) {
            read[i] = make_error("cannot open pack {}: {}", path.string(), errno_text());
            continue;
          }
          struct stat st {};
          if (::fstat(fd.get(), &st) == 0) {
            identities[i] = PackIdentity{st.st_ino, st.st_size,
                                         static_cast<std::int64_t>(st.st_mtim.tv_sec) *
                                                 1'000'000'000 +
                                             st.st_mtim.tv_nsec};
          }
          if (auto at = known.find(names[i]);
              at != known.end() && identities[i].inode != 0 &&
              previous->m_identities[at->second] == identities[i]) {
            read[i] = previous->m_tables[at->second];
            continue;
          }
          read[i] = read_pack_entries(fd.get(), path);
        }
      },
      1);
  std::size_t total = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (read[i]) {
      index.m_names.push_back(names[i]);
      index.m_identities.push_back(identities[i]);
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
      auto& slot = index.m_slots[index.position(table[i].hash)];
      if (slot == 0) {
        slot = pack << 32 | (i + 1);
      }
    }
  }
  return index;
}

std::optional<BlobLocation> LazySourceIndex::find(const Hash& hash) const {
  const std::uint64_t s = m_slots[position(hash)];
  if (s == 0) {
    return std::nullopt;
  }
  const auto& e = entry(s);
  return BlobLocation{static_cast<std::uint32_t>(s >> 32), e.stored_len, e.offset,
                      e.raw_len, e.codec};
}

Result<BlobIndex> LazySourceIndex::subset(const fs::path& dir,
                                          const std::vector<Hash>& hashes) const {
  std::vector<std::vector<PackEntry>> per_pack(m_names.size());
  for (const auto& h : hashes) {
    if (const std::uint64_t s = m_slots[position(h)]; s != 0) {
      per_pack[s >> 32].push_back(entry(s));
    }
  }
  auto index = BlobIndex::empty(dir);
  for (std::size_t pack = 0; pack < m_names.size(); ++pack) {
    STASIS_TRY(index.add_pack(m_names[pack], per_pack[pack]));
  }
  return index;
}

const PackEntry& LazySourceIndex::entry(std::uint64_t slot) const {
  return m_tables[slot >> 32][(slot & 0xffffffffU) - 1];
}

std::size_t LazySourceIndex::position(const Hash& hash) const {
  std::uint64_t key = 0;
  std::memcpy(&key, hash.bytes.data(), sizeof key);
  for (std::size_t i = key & m_mask;; i = (i + 1) & m_mask) {
    const std::uint64_t s = m_slots[i];
    if (s == 0 || entry(s).hash == hash) {
      return i;
    }
  }
}

Result<LazySourceIndex> LazySourceIndexCache::load(const fs::path& dir) {
  std::lock_guard lock(m_mutex);
  const LazySourceIndex* previous = m_last && m_dir == dir ? &*m_last : nullptr;
  auto index = STASIS_TRY(LazySourceIndex::load(dir, previous));
  m_dir = dir;
  m_last = index;
  return index;
}

} // namespace stasis::store
