#include "store/transfer.hpp"

#include "store/chunk_list.hpp"
#include "store/reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <unordered_set>

namespace stasis::store {
namespace {

constexpr char k_magic[8] = {'S', 'T', 'A', 'S', 'I', 'S', 'X', 'P'};
constexpr std::uint32_t k_version = 1;
constexpr std::uint8_t k_manifest_record = 1;
constexpr std::uint8_t k_blob_record = 2;
constexpr std::uint8_t k_end_record = 3;

// Buffered writer that also hashes everything it writes.
class Out {
public:
  Out(int fd, fs::path path) : m_fd(fd), m_path(std::move(path)) {}
  template <typename T>
  void put(const T& v) {
    bytes({reinterpret_cast<const std::uint8_t*>(&v), sizeof(T)});
  }
  void bytes(std::span<const std::uint8_t> data) {
    m_hash.update(data);
    m_buffer.insert(m_buffer.end(), data.begin(), data.end());
  }
  Result<void> flush_if_big() { return m_buffer.size() >= (4 << 20) ? flush() : ok(); }
  Result<void> flush() {
    auto r = write_all(m_fd, m_buffer, m_path);
    m_buffer.clear();
    return r;
  }
  Hash digest() { return m_hash.finish(); }
  void raw(std::span<const std::uint8_t> data) {
    m_buffer.insert(m_buffer.end(), data.begin(), data.end());
  }

private:
  int m_fd;
  fs::path m_path;
  Sha256Stream m_hash;
  std::vector<std::uint8_t> m_buffer;
};

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

} // namespace

Result<void> write_export(const BlobIndex& index, const Manifest& manifest, const fs::path& file) {
  std::vector<Hash> order;
  std::unordered_set<Hash, HashHasher> seen;
  for (const auto& f : manifest.files) {
    for (const auto& list : f.lists) {
      if (seen.insert(list).second) {
        order.push_back(list);
      }
    }
    for (const auto& r : STASIS_TRY(file_chunks(index, f))) {
      if (!r.hash.is_zero() && seen.insert(r.hash).second) {
        order.push_back(r.hash);
      }
    }
  }
  auto dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  auto temp = dir / (std::string(k_temp_prefix) + file.filename().string() + "." + random_name());
  util::UniqueFd fd{::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (!fd) {
    return make_error("cannot create {}: {}", temp.string(), errno_text());
  }
  auto result = [&]() -> Result<void> {
    Out out(fd.get(), temp);
    out.bytes({reinterpret_cast<const std::uint8_t*>(k_magic), 8});
    out.put(k_version);
    out.put(std::uint32_t{0});
    std::string json = manifest_to_json(manifest);
    out.put(k_manifest_record);
    out.put(static_cast<std::uint64_t>(json.size()));
    out.bytes({reinterpret_cast<const std::uint8_t*>(json.data()), json.size()});
    std::vector<std::uint8_t> stored, raw;
    for (const auto& hash : order) {
      const BlobLocation* loc = index.find(hash);
      if (loc == nullptr) {
        return make_error("checkpoint {}/{} is damaged: blob {} is missing", manifest.job,
                          manifest.id, to_hex(hash));
      }
      STASIS_TRY(index.read_stored(*loc, stored));
      raw.resize(loc->raw_len);
      if (!decompress(loc->codec, stored, raw) || sha256(raw) != hash) {
        return make_error("checkpoint {}/{} is damaged: blob {} does not verify", manifest.job,
                          manifest.id, to_hex(hash));
      }
      out.put(k_blob_record);
      out.bytes(hash.bytes);
      out.put(static_cast<std::uint8_t>(loc->codec));
      out.put(loc->raw_len);
      out.put(loc->stored_len);
      out.bytes(stored);
      STASIS_TRY(out.flush_if_big());
    }
    out.put(k_end_record);
    out.put(static_cast<std::uint64_t>(order.size()));
    out.raw(out.digest().bytes);
    STASIS_TRY(out.flush());
    if (::fsync(fd.get()) != 0) {
      return make_error("cannot fsync {}: {}", temp.string(), errno_text());
    }
    if (::rename(temp.c_str(), file.c_str()) != 0) {
      return make_error("cannot rename {} to {}: {}", temp.string(), file.string(), errno_text());
    }
    return ok();
  }();
  if (!result) {
    ::unlink(temp.c_str());
  }
  return result;
}

Result<Manifest> read_export(BlobSink& sink, const BlobIndex& index, const fs::path& file) {
  util::UniqueFd fd{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (!fd) {
    return make_error("cannot open {}: {}", file.string(), errno_text());
  }
  In in(fd.get(), file);
  std::uint8_t magic[8];
  STASIS_TRY(in.bytes(magic));
  if (std::memcmp(magic, k_magic, 8) != 0) {
    return make_error("{} is not a stasis export file (bad magic)", file.string());
  }
  auto version = STASIS_TRY(in.get<std::uint32_t>());
  if (version != k_version) {
    return make_error("{} has unsupported export version {}", file.string(), version);
  }
  STASIS_TRY(in.get<std::uint32_t>());
  if (STASIS_TRY(in.get<std::uint8_t>()) != k_manifest_record) {
    return make_error("{} does not start with a manifest", file.string());
  }
  auto length = STASIS_TRY(in.get<std::uint64_t>());
  if (length > (256ULL << 20)) {
    return make_error("{} has an implausible manifest size", file.string());
  }
  std::string json(length, '\0');
  STASIS_TRY(in.bytes({reinterpret_cast<std::uint8_t*>(json.data()), json.size()}));
  auto manifest = manifest_from_json(json);
  if (!manifest) {
    return make_error("{}: {}", file.string(), manifest.error().message);
  }
  std::unordered_set<Hash, HashHasher> list_hashes;
  for (const auto& f : manifest->files) {
    list_hashes.insert(f.lists.begin(), f.lists.end());
  }
  std::map<Hash, std::vector<std::uint8_t>> lists;
  std::uint64_t count = 0;
  std::vector<std::uint8_t> stored, raw;
  for (;;) {
    auto type = STASIS_TRY(in.get<std::uint8_t>());
    if (type == k_end_record) {
      break;
    }
    if (type != k_blob_record) {
      return make_error("{} has an unknown record type {}", file.string(), type);
    }
    Hash hash;
    STASIS_TRY(in.bytes(hash.bytes));
    auto codec = static_cast<Codec>(STASIS_TRY(in.get<std::uint8_t>()));
    auto raw_len = STASIS_TRY(in.get<std::uint32_t>());
    auto stored_len = STASIS_TRY(in.get<std::uint32_t>());
    if (raw_len > (64U << 20) || stored_len > (64U << 20)) {
      return make_error("{} has an implausible blob size", file.string());
    }
    stored.resize(stored_len);
    STASIS_TRY(in.bytes(stored));
    raw.resize(raw_len);
    if (!decompress(codec, stored, raw) || sha256(raw) != hash) {
      return make_error("{} is damaged: blob {} does not verify", file.string(), to_hex(hash));
    }
    if (list_hashes.contains(hash)) {
      lists[hash] = raw;
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
                      file.string());
  }
  // Every chunk the manifest needs must now be stored.
  for (const auto& f : manifest->files) {
    std::vector<ChunkRef> refs;
    for (const auto& list : f.lists) {
      auto it = lists.find(list);
      if (it != lists.end()) {
        STASIS_TRY(decode_chunk_list(it->second, refs));
      } else if (index.contains(list)) {
        std::vector<std::uint8_t> blob;
        STASIS_TRY(index.read(list, blob));
        STASIS_TRY(decode_chunk_list(blob, refs));
      } else {
        return make_error("{} lacks a chunk list of {}", file.string(), f.name);
      }
    }
    for (const auto& r : refs) {
      if (!r.hash.is_zero() && !sink.has(r.hash)) {
        return make_error("{} lacks chunk {} of {}", file.string(), to_hex(r.hash), f.name);
      }
    }
  }
  return std::move(*manifest);
}

} // namespace stasis::store
