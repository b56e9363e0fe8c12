#include "store/blob_index.hpp"

#include <algorithm>
#include <fcntl.h>
#include <unordered_set>

namespace stasis::store {

Result<std::vector<std::string>> list_packs(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.ends_with(k_pack_suffix) && !name.starts_with(k_temp_prefix)) {
      out.push_back(name);
    }
  }
  if (ec) {
    return make_error("cannot list packs in {}: {}", dir.string(), ec.message());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<BlobIndex> BlobIndex::load(const fs::path& dir,
                                  std::vector<std::string>& problems) {
  BlobIndex index;
  index.m_dir = dir;
  std::vector<std::vector<PackEntry>> tables;
  std::size_t total = 0;
  for (const auto& name : STASIS_TRY(list_packs(dir))) {
    util::UniqueFd fd{::open((dir / name).c_str(), O_RDONLY | O_CLOEXEC)};
    if (!fd) {
      problems.push_back(fmt::format("cannot open pack {}: {}", name, errno_text()));
      continue;
    }
    auto entries = read_pack_entries(fd.get(), dir / name);
    if (!entries) {
      problems.push_back(entries.error().message);
      continue;
    }
    index.m_packs.push_back(name);
    index.m_fds.push_back(std::move(fd));
    total += entries->size();
    tables.push_back(std::move(*entries));
  }
  // One allocation of buckets for all blobs instead of a rehash per pack.
  index.m_map.reserve(total);
  for (std::size_t pack = 0; pack < tables.size(); ++pack) {
    for (const auto& e : tables[pack]) {
      index.m_duplicates |=
          !index.m_map
               .try_emplace(e.hash,
                            BlobLocation{static_cast<std::uint32_t>(pack), e.stored_len,
                                         e.offset, e.raw_len, e.codec})
               .second;
    }
  }
  return index;
}

void BlobIndex::load_pack(const std::string& name, std::vector<std::string>& problems) {
  util::UniqueFd fd{::open((m_dir / name).c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) {
    problems.push_back(fmt::format("cannot open pack {}: {}", name, errno_text()));
    return;
  }
  auto entries = read_pack_entries(fd.get(), m_dir / name);
  if (!entries) {
    problems.push_back(entries.error().message);
    return;
  }
  auto pack = static_cast<std::uint32_t>(m_packs.size());
  m_packs.push_back(name);
  m_fds.push_back(std::move(fd));
  if (m_map.size() + entries->size() > m_map.bucket_count() * m_map.max_load_factor()) {
    m_map.reserve(2 * (m_map.size() + entries->size()));
  }
  for (const auto& e : *entries) {
    m_duplicates |= !m_map
                         .try_emplace(e.hash, BlobLocation{pack, e.stored_len, e.offset,
                                                           e.raw_len, e.codec})
                         .second;
  }
}

Result<void> BlobIndex::refresh(std::vector<std::string>& problems) {
  auto names = STASIS_TRY(list_packs(m_dir));
  std::unordered_set<std::string> present(names.begin(), names.end());
  std::vector<std::uint32_t> renumber(m_packs.size());
  std::size_t kept = 0;
  for (std::uint32_t p = 0; p < m_packs.size(); ++p) {
    renumber[p] =
        present.contains(m_packs[p]) ? static_cast<std::uint32_t>(kept++) : k_gone;
  }
  if (kept != m_packs.size()) {
    if (m_duplicates) {
      // A removed pack's blob may also be in a pack that stays, which the
      // map does not know: start over.
      *this = STASIS_TRY(load(m_dir, problems));
      return ok();
    }
    // Drop the removed packs' blobs and keep pack numbers dense (no I/O).
    std::erase_if(m_map,
                  [&](const auto& item) { return renumber[item.second.pack] == k_gone; });
    for (auto& [hash, loc] : m_map) {
      loc.pack = renumber[loc.pack];
    }
    std::vector<std::string> packs;
    std::vector<util::UniqueFd> fds;
    for (std::uint32_t p = 0; p < m_packs.size(); ++p) {
      if (renumber[p] != k_gone) {
        packs.push_back(std::move(m_packs[p]));
        fds.push_back(std::move(m_fds[p]));
      }
    }
    m_packs = std::move(packs);
    m_fds = std::move(fds);
  }
  std::unordered_set<std::string> known(m_packs.begin(), m_packs.end());
  for (const auto& name : names) {
    if (!known.contains(name)) {
      load_pack(name, problems);
    }
  }
  return ok();
}

const BlobLocation* BlobIndex::find(const Hash& hash) const {
  auto it = m_map.find(hash);
  return it == m_map.end() ? nullptr : &it->second;
}

Result<void> BlobIndex::add_pack(const std::string& name,
                                 const std::vector<PackEntry>& entries) {
  util::UniqueFd fd{::open((m_dir / name).c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) {
    return make_error("cannot open pack {}: {}", name, errno_text());
  }
  auto pack = static_cast<std::uint32_t>(m_packs.size());
  m_packs.push_back(name);
  m_fds.push_back(std::move(fd));
  if (m_map.size() + entries.size() > m_map.bucket_count() * m_map.max_load_factor()) {
    m_map.reserve(2 * (m_map.size() + entries.size()));
  }
  for (const auto& e : entries) {
    m_duplicates |= !m_map
                         .try_emplace(e.hash, BlobLocation{pack, e.stored_len, e.offset,
                                                           e.raw_len, e.codec})
                         .second;
  }
  return ok();
}

Result<void> BlobIndex::read_stored(const BlobLocation& loc,
                                    std::vector<std::uint8_t>& out) const {
  out.resize(loc.stored_len);
  return pread_exact(m_fds[loc.pack].get(), out, loc.offset, pack_path(loc.pack));
}

Result<void> BlobIndex::read_span(std::uint32_t pack, std::uint64_t offset,
                                  std::span<std::uint8_t> out) const {
  return pread_exact(m_fds[pack].get(), out, offset, pack_path(pack));
}

Result<void> BlobIndex::check(const Hash& hash, const BlobLocation& loc,
                              std::span<const std::uint8_t> data) const {
  if (sha256(data) != hash) {
    return make_error("blob {} in pack {} is damaged (content hash mismatch)",
                      to_hex(hash), m_packs[loc.pack]);
  }
  return ok();
}

Result<void> BlobIndex::decode(const Hash& hash, const BlobLocation& loc,
                               std::span<const std::uint8_t> stored,
                               std::span<std::uint8_t> out) const {
  auto decoded = decompress(loc.codec, stored, out);
  if (!decoded) {
    return make_error("blob {} in pack {} is damaged: {}", to_hex(hash),
                      m_packs[loc.pack], decoded.error().message);
  }
  return check(hash, loc, out);
}

Result<void> BlobIndex::read(const Hash& hash, std::vector<std::uint8_t>& out) const {
  if (hash.is_zero()) {
    return make_error("the zero hash names no stored blob");
  }
  const BlobLocation* loc = find(hash);
  if (loc == nullptr) {
    return make_error("blob {} is missing from the store", to_hex(hash));
  }
  thread_local std::vector<std::uint8_t> stored;
  STASIS_TRY(read_stored(*loc, stored));
  out.resize(loc->raw_len);
  return decode(hash, *loc, stored, out);
}

} // namespace stasis::store
