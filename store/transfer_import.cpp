// Reading export files (docs/export-format.md): nothing of a file reaches
// the store before its manifest, every size it declares and every blob it
// carries checked out; only blobs the checkpoint uses are stored.
#include "store/chunk_list.hpp"
#include "store/transfer.hpp"

#include <algorithm>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

namespace stasis::store {
namespace {

using namespace export_format;

// Buffered reader that hashes everything it returns.
class In {
public:
  In(int fd, fs::path path) : m_fd(fd), m_path(std::move(path)) {}
  Result<void> bytes(std::span<std::uint8_t> out, bool hash = true) {
    std::size_t done = 0;
    while (done < out.size()) {
      if (m_pos == m_buffer.size()) {
        m_buffer.resize(1 << 20);
        ssize_t n = ::read(m_fd, m_buffer.data(), m_buffer.size());
        if (n <= 0) {
          return make_error("{} is truncated or unreadable", m_path.string());
        }
        m_buffer.resize(static_cast<std::size_t>(n));
        m_pos = 0;
      }
      std::size_t take = std::min(out.size() - done, m_buffer.size() - m_pos);
      std::memcpy(out.data() + done, m_buffer.data() + m_pos, take);
      m_pos += take;
      done += take;
    }
    if (hash) {
      m_hash.update(out);
    }
    return ok();
  }
  template <typename T>
  Result<T> get() {
    T v;
    STASIS_TRY(bytes({reinterpret_cast<std::uint8_t*>(&v), sizeof(T)}));
    return v;
  }
  Hash digest() { return m_hash.finish(); }
  bool at_end() {
    if (m_pos < m_buffer.size()) {
      return false;
    }
    std::uint8_t b;
    return ::read(m_fd, &b, 1) == 0;
  }

private:
  int m_fd;
  fs::path m_path;
  Sha256Stream m_hash;
  std::vector<std::uint8_t> m_buffer;
  std::size_t m_pos = 0;
};

// The largest chunk list the store writes.
constexpr std::size_t k_max_list_entries =
    std::max(k_file_chunks_per_list, k_pages_per_list);

// Checks what the manifest declares before any blob is read: the files'
// sizes add up to its logical size, which is within limits.
Result<void> check_declared_sizes(const Manifest& m, const StoreLimits& limits) {
  std::uint64_t total = 0;
  for (const auto& f : m.files) {
    if (f.size > limits.max_logical_bytes - total) {
      return make_error("the checkpoint is larger than the {} bytes it may have",
                        limits.max_logical_bytes);
    }
    total += f.size;
  }
  if (total != m.logical_bytes) {
    return make_error("the manifest's logical size {} is not the sum of its files' "
                      "sizes ({})",
                      m.logical_bytes, total);
  }
  return ok();
}

// The blobs an import expects: the manifest's chunk lists, and the chunks
// (with their sizes) of every list seen so far.
class Wanted {
public:
  Wanted(const Manifest& m, const BlobIndex& index) : m_index(index) {
    for (const auto& f : m.files) {
      m_lists.insert(f.lists.begin(), f.lists.end());
    }
  }

  // Decodes the lists the store already has: their chunks may follow.
  Result<void> decode_stored_lists() {
    std::vector<std::uint8_t> blob;
    for (const auto& list : m_lists) {
      if (m_index.contains(list)) {
        STASIS_TRY(m_index.read(list, blob));
        STASIS_TRY(add_list(list, blob));
      }
    }
    return ok();
  }

  bool is_list(const Hash& h) const { return m_lists.contains(h); }
  const std::unordered_set<Hash, HashHasher>& lists() const { return m_lists; }
  const std::unordered_map<Hash, std::uint32_t, HashHasher>& chunks() const {
    return m_chunks;
  }
  const std::uint32_t* chunk_size(const Hash& h) const {
    auto it = m_chunks.find(h);
    return it == m_chunks.end() ? nullptr : &it->second;
  }

  // Decodes a list blob, checking its entries, and wants its chunks.
  Result<void> add_list(const Hash& hash, std::span<const std::uint8_t> blob) {
    std::vector<ChunkRef> refs;
    STASIS_TRY(decode_chunk_list(blob, refs));
    if (refs.size() > k_max_list_entries) {
      return make_error("chunk list {} has {} entries; a list has at most {}",
                        to_hex(hash), refs.size(), k_max_list_entries);
    }
    for (const auto& r : refs) {
      if (r.size == 0 || r.size > k_max_export_blob_bytes) {
        return make_error("chunk list {} names a chunk of {} bytes; a chunk has 1 to {}",
                          to_hex(hash), r.size, k_max_export_blob_bytes);
      }
      if (r.hash.is_zero()) {
        continue;
      }
      auto [it, added] = m_chunks.emplace(r.hash, r.size);
      if (!added && it->second != r.size) {
        return make_error("chunk {} is listed with {} and with {} bytes", to_hex(r.hash),
                          it->second, r.size);
      }
    }
    m_decoded.emplace(hash, std::move(refs));
    return ok();
  }

  // The chunks of a file, from its decoded lists; checks that they add up
  // to its size and are stored with the sizes the lists give.
  Result<void> check_file(const FileRecord& f, const BlobSink& sink) const {
    std::uint64_t total = 0;
    for (const auto& list : f.lists) {
      auto it = m_decoded.find(list);
      if (it == m_decoded.end()) {
        return make_error("it lacks chunk list {} of {}", to_hex(list), f.name);
      }
      for (const auto& r : it->second) {
        total += r.size;
        if (r.hash.is_zero()) {
          continue;
        }
        if (!sink.has(r.hash)) {
          return make_error("it lacks chunk {} of {}", to_hex(r.hash), f.name);
        }
        const BlobLocation* loc = m_index.find(r.hash);
        if (loc != nullptr && loc->raw_len != r.size) {
          return make_error("chunk {} of {} has {} bytes in the store, its list says {}",
                            to_hex(r.hash), f.name, loc->raw_len, r.size);
        }
      }
    }
    if (total != f.size) {
      return make_error("{} declares {} bytes, its chunks add up to {}", f.name, f.size,
                        total);
    }
    return ok();
  }

private:
  const BlobIndex& m_index;
  std::unordered_set<Hash, HashHasher> m_lists;
  std::unordered_map<Hash, std::uint32_t, HashHasher> m_chunks;
  std::unordered_map<Hash, std::vector<ChunkRef>, HashHasher> m_decoded;
};

} // namespace

Result<Manifest> read_export(BlobSink& sink, const BlobIndex& index, int fd,
                             const std::string& name, const StoreLimits& limits) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error("{} is not a regular file", name);
  }
  In in(fd, name);
  std::uint8_t magic[8];
  STASIS_TRY(in.bytes(magic));
  if (std::memcmp(magic, k_magic, 8) != 0) {
    return make_error("{} is not a stasis export file (bad magic)", name);
  }
  auto version = STASIS_TRY(in.get<std::uint32_t>());
  if (version != k_version) {
    return make_error("{} has unsupported export version {}", name, version);
  }
  STASIS_TRY(in.get<std::uint32_t>());
  if (STASIS_TRY(in.get<std::uint8_t>()) != k_manifest_record) {
    return make_error("{} does not start with a manifest", name);
  }
  auto length = STASIS_TRY(in.get<std::uint64_t>());
  if (length > k_max_manifest_bytes) {
    return make_error("{} has a manifest of {} bytes; a manifest has at most {}", name,
                      length, k_max_manifest_bytes);
  }
  std::string json(length, '\0');
  STASIS_TRY(in.bytes({reinterpret_cast<std::uint8_t*>(json.data()), json.size()}));
  auto manifest = manifest_from_json(json);
  if (!manifest) {
    return Unexpected(std::move(manifest).error());
  }
  STASIS_TRY(check_declared_sizes(*manifest, limits));
  Wanted wanted(*manifest, index);
  STASIS_TRY(wanted.decode_stored_lists());
  std::unordered_set<Hash, HashHasher> received;
  std::uint64_t count = 0;
  std::vector<std::uint8_t> stored, raw;
  for (;;) {
    auto type = STASIS_TRY(in.get<std::uint8_t>());
    if (type == k_end_record) {
      break;
    }
    if (type != k_blob_record) {
      return make_error("{} has an unknown record type {}", name, type);
    }
    Hash hash;
    STASIS_TRY(in.bytes(hash.bytes));
    auto codec = static_cast<Codec>(STASIS_TRY(in.get<std::uint8_t>()));
    auto raw_len = STASIS_TRY(in.get<std::uint32_t>());
    auto stored_len = STASIS_TRY(in.get<std::uint32_t>());
    if (raw_len > k_max_export_blob_bytes || stored_len > k_max_export_blob_bytes) {
      return make_error(
          "{} carries a blob of {} bytes ({} stored); a chunk has at most {}", name,
          raw_len, stored_len, k_max_export_blob_bytes);
    }
    const std::uint32_t* chunk_size = wanted.chunk_size(hash);
    const bool is_list = wanted.is_list(hash);
    if (!is_list && chunk_size == nullptr) {
      return make_error("{} carries blob {}, which the checkpoint does not use (or "
                        "before the chunk list naming it)",
                        name, to_hex(hash));
    }
    if (!received.insert(hash).second) {
      return make_error("{} carries blob {} twice", name, to_hex(hash));
    }
    if (chunk_size != nullptr && !is_list && *chunk_size != raw_len) {
      return make_error("{}: chunk {} has {} bytes, its chunk list says {}", name,
                        to_hex(hash), raw_len, *chunk_size);
    }
    stored.resize(stored_len);
    STASIS_TRY(in.bytes(stored));
    raw.resize(raw_len);
    if (!decompress(codec, stored, raw) || sha256(raw) != hash) {
      return make_error("{} is damaged: blob {} does not verify", name, to_hex(hash));
    }
    if (is_list) {
      STASIS_TRY(wanted.add_list(hash, raw));
    }
    STASIS_TRY(sink.put(hash, codec, raw_len, stored));
    ++count;
  }
  auto expected_count = STASIS_TRY(in.get<std::uint64_t>());
  Hash digest = in.digest();
  Hash recorded;
  STASIS_TRY(in.bytes(recorded.bytes, false));
  if (expected_count != count || digest != recorded || !in.at_end()) {
    return make_error("{} is damaged or truncated (checksum or blob count mismatch)",
                      name);
  }
  // Every file's lists and chunks are now stored, with the declared sizes.
  for (const auto& f : manifest->files) {
    auto checked = wanted.check_file(f, sink);
    if (!checked) {
      return make_error("{}: {}", name, checked.error().message);
    }
  }
  return std::move(*manifest);
}

Result<Manifest> read_from_source(BlobSink& sink, const BlobIndex& index,
                                  const Manifest& manifest, BlobSource& source,
                                  const std::string& name, const StoreLimits& limits) {
  STASIS_TRY(check_declared_sizes(manifest, limits));
  Wanted wanted(manifest, index);
  STASIS_TRY(wanted.decode_stored_lists());
  std::unordered_set<Hash, HashHasher> received;
  std::vector<std::uint8_t> raw;
  BlobSource::Put put = [&](const Hash& hash, Codec codec, std::uint32_t raw_len,
                            std::span<const std::uint8_t> stored) -> Result<void> {
    const std::uint32_t* chunk_size = wanted.chunk_size(hash);
    const bool is_list = wanted.is_list(hash);
    if (!is_list && chunk_size == nullptr) {
      return make_error("{} delivered blob {}, which the checkpoint does not use", name,
                        to_hex(hash));
    }
    if (raw_len > k_max_export_blob_bytes || stored.size() > k_max_export_blob_bytes) {
      return make_error("{} delivered blob {} of {} bytes ({} stored); a chunk has at "
                        "most {}",
                        name, to_hex(hash), raw_len, stored.size(),
                        k_max_export_blob_bytes);
    }
    if (!received.insert(hash).second) {
      return make_error("{} delivered blob {} twice", name, to_hex(hash));
    }
    if (chunk_size != nullptr && !is_list && *chunk_size != raw_len) {
      return make_error("{}: chunk {} has {} bytes, its chunk list says {}", name,
                        to_hex(hash), raw_len, *chunk_size);
    }
    raw.resize(raw_len);
    if ((codec != Codec::Raw && codec != Codec::Zstd) ||
        !decompress(codec, stored, raw) || sha256(raw) != hash) {
      return make_error("blob {} from {} does not verify (its content does not match its "
                        "hash)",
                        to_hex(hash), name);
    }
    if (is_list) {
      STASIS_TRY(wanted.add_list(hash, raw));
    }
    return sink.put(hash, codec, raw_len, stored);
  };
  std::vector<Hash> missing;
  for (const auto& list : wanted.lists()) {
    if (!sink.has(list)) {
      missing.push_back(list);
    }
  }
  std::sort(missing.begin(), missing.end());
  if (!missing.empty()) {
    STASIS_TRY(source.fetch(missing, put));
  }
  missing.clear();
  for (const auto& [chunk, size] : wanted.chunks()) {
    if (!sink.has(chunk)) {
      missing.push_back(chunk);
    }
  }
  std::sort(missing.begin(), missing.end());
  if (!missing.empty()) {
    STASIS_TRY(source.fetch(missing, put));
  }
  for (const auto& f : manifest.files) {
    auto checked = wanted.check_file(f, sink);
    if (!checked) {
      return make_error("{}: {}", name, checked.error().message);
    }
  }
  return manifest;
}

} // namespace stasis::store
