#include "store/transfer.hpp"

#include "store/chunk_list.hpp"
#include "store/reader.hpp"

#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <unordered_set>

namespace stasis::store {
namespace {

using namespace export_format;

// Buffered writer that also hashes everything it writes.
class Out {
public:
  // stall: for a caller's descriptor (made non-blocking), how long one write
  // may wait for its reader; zero for a file of the store's own.
  Out(int fd, fs::path path, std::chrono::milliseconds stall = {})
      : m_fd(fd), m_path(std::move(path)), m_stall(stall) {}
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
    auto r = m_stall.count() == 0 ? write_all(m_fd, m_buffer, m_path) : write_patiently();
    m_buffer.clear();
    return r;
  }
  Hash digest() { return m_hash.finish(); }
  void raw(std::span<const std::uint8_t> data) {
    m_buffer.insert(m_buffer.end(), data.begin(), data.end());
  }

private:
  // Writes m_buffer to a non-blocking descriptor, waiting at most m_stall
  // for each bit of progress.
  Result<void> write_patiently() {
    std::size_t done = 0;
    while (done < m_buffer.size()) {
      const ssize_t n = ::write(m_fd, m_buffer.data() + done, m_buffer.size() - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0 && errno != EAGAIN) {
        return make_error("cannot write {}: {}", m_path.string(), errno_text());
      }
      pollfd wait{m_fd, POLLOUT, 0};
      const int ready = ::poll(&wait, 1, static_cast<int>(m_stall.count()));
      if (ready == 0) {
        return make_error("{} took nothing for {} s: its reader stopped reading",
                          m_path.string(), m_stall.count() / 1000);
      }
      if (ready < 0 && errno != EINTR) {
        return make_error("cannot wait to write {}: {}", m_path.string(), errno_text());
      }
    }
    return ok();
  }

  int m_fd;
  fs::path m_path;
  std::chrono::milliseconds m_stall;
  Sha256Stream m_hash;
  std::vector<std::uint8_t> m_buffer;
};

// Writes the whole export stream of manifest to out.
Result<void> write_stream(const BlobIndex& index, const Manifest& manifest, Out& out) {
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
      return make_error("checkpoint {}/{} is damaged: blob {} does not verify",
                        manifest.job, manifest.id, to_hex(hash));
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
  return ok();
}

} // namespace

Result<void> write_export(const BlobIndex& index, const Manifest& manifest,
                          const fs::path& file) {
  auto dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  const auto leaf = file.filename().string();
  util::UniqueFd dir_fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!dir_fd) {
    return make_error("cannot open directory {}: {}", dir.string(), errno_text());
  }
  const auto temp_name = std::string(k_temp_prefix) + leaf + "." + random_name();
  const auto temp = dir / temp_name;
  util::UniqueFd fd{::openat(dir_fd.get(), temp_name.c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)};
  if (!fd) {
    return make_error("cannot create {}: {}", temp.string(), errno_text());
  }
  auto result = [&]() -> Result<void> {
    Out out(fd.get(), temp);
    STASIS_TRY(write_stream(index, manifest, out));
    if (::fsync(fd.get()) != 0) {
      return make_error("cannot fsync {}: {}", temp.string(), errno_text());
    }
    if (::renameat(dir_fd.get(), temp_name.c_str(), dir_fd.get(), leaf.c_str()) != 0) {
      return make_error("cannot rename {} to {}: {}", temp.string(), file.string(),
                        errno_text());
    }
    return ok();
  }();
  if (!result) {
    ::unlinkat(dir_fd.get(), temp_name.c_str(), 0);
  }
  return result;
}

Result<void> write_export_to(const BlobIndex& index, const Manifest& manifest, int fd,
                             const std::string& name, std::chrono::milliseconds stall) {
  Out out(fd, name, stall);
  return write_stream(index, manifest, out);
}

} // namespace stasis::store
