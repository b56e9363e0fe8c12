#include "store/pack.hpp"

#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::store {
namespace {

constexpr char k_head_magic[8] = {'S', 'T', 'A', 'S', 'P', 'A', 'C', 'K'};
constexpr char k_foot_magic[8] = {'S', 'T', 'A', 'S', 'P', 'E', 'N', 'D'};
constexpr std::uint32_t k_version = 1;
constexpr std::size_t k_header_size = 16;
constexpr std::size_t k_entry_size = 56;
constexpr std::size_t k_footer_size = 56;
constexpr std::size_t k_flush_at = 4 << 20;

template <typename T>
void put(std::vector<std::uint8_t>& out, const T& v) {
  auto p = reinterpret_cast<const std::uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

template <typename T>
T get(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

} // namespace

Result<std::unique_ptr<PackWriter>> PackWriter::create(const fs::path& dir) {
  std::unique_ptr<PackWriter> writer{new PackWriter()};
  writer->m_dir = dir;
  writer->m_name = random_name() + std::string(k_pack_suffix);
  writer->m_temp = dir / (std::string(k_temp_prefix) + writer->m_name);
  writer->m_fd.reset(
      ::open(writer->m_temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!writer->m_fd) {
    return make_error("cannot create pack {}: {}", writer->m_temp.string(), errno_text());
  }
  writer->m_buffer.insert(writer->m_buffer.end(), k_head_magic, k_head_magic + 8);
  put(writer->m_buffer, k_version);
  put(writer->m_buffer, std::uint32_t{0});
  writer->m_offset = k_header_size;
  return writer;
}

PackWriter::~PackWriter() {
  abandon();
}

Result<void> PackWriter::flush() {
  auto r = write_all(m_fd.get(), m_buffer, m_temp);
  if (r) {
    // Let the disk work while we go on hashing: the commit's fsync then
    // waits only for the tail instead of the whole pack.
    ::sync_file_range(m_fd.get(), static_cast<off_t>(m_written),
                      static_cast<off_t>(m_buffer.size()), SYNC_FILE_RANGE_WRITE);
    m_written += m_buffer.size();
  }
  m_buffer.clear();
  return r;
}

Result<std::uint64_t> PackWriter::append(const Hash& hash, Codec codec,
                                         std::uint32_t raw_len,
                                         std::span<const std::uint8_t> stored) {
  if (m_sealed) {
    return make_error("pack {} is sealed", m_temp.string());
  }
  std::uint64_t offset = m_offset;
  m_buffer.insert(m_buffer.end(), stored.begin(), stored.end());
  m_offset += stored.size();
  m_entries.push_back(
      {hash, offset, static_cast<std::uint32_t>(stored.size()), raw_len, codec});
  if (m_buffer.size() >= k_flush_at) {
    STASIS_TRY(flush());
  }
  return offset;
}

Result<void> PackWriter::seal() {
  if (m_sealed) {
    return ok();
  }
  std::vector<std::uint8_t> table;
  table.reserve(m_entries.size() * k_entry_size);
  for (const auto& e : m_entries) {
    table.insert(table.end(), e.hash.bytes.begin(), e.hash.bytes.end());
    put(table, e.offset);
    put(table, e.stored_len);
    put(table, e.raw_len);
    put(table, static_cast<std::uint32_t>(e.codec));
    put(table, std::uint32_t{0});
  }
  Hash sum = sha256(table);
  std::uint64_t entries_offset = m_offset;
  m_buffer.insert(m_buffer.end(), table.begin(), table.end());
  put(m_buffer, entries_offset);
  put(m_buffer, static_cast<std::uint64_t>(m_entries.size()));
  m_buffer.insert(m_buffer.end(), sum.bytes.begin(), sum.bytes.end());
  m_buffer.insert(m_buffer.end(), k_foot_magic, k_foot_magic + 8);
  STASIS_TRY(flush());
  m_sealed = true;
  m_buffer.shrink_to_fit();
  return ok();
}

Result<void> PackWriter::commit(bool sync_dir) {
  STASIS_TRY(seal());
  if (::fsync(m_fd.get()) != 0) {
    return make_error("cannot fsync pack {}: {}", m_temp.string(), errno_text());
  }
  m_fd.reset();
  fs::path final_path = m_dir / m_name;
  if (::rename(m_temp.c_str(), final_path.c_str()) != 0) {
    return make_error("cannot rename pack {}: {}", m_temp.string(), errno_text());
  }
  m_committed = true;
  return sync_dir ? fsync_dir(m_dir) : ok();
}

void PackWriter::abandon() {
  if (!m_committed && !m_temp.empty()) {
    m_fd.reset();
    ::unlink(m_temp.c_str());
    m_temp.clear();
  }
}

Result<std::vector<PackEntry>> read_pack_entries(int fd, const fs::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return make_error("cannot stat pack {}: {}", path.string(), errno_text());
  }
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < k_header_size + k_footer_size) {
    return make_error("pack {} is truncated ({} bytes)", path.string(), size);
  }
  std::uint8_t head[k_header_size];
  std::uint8_t foot[k_footer_size];
  STASIS_TRY(pread_exact(fd, head, 0, path));
  STASIS_TRY(pread_exact(fd, foot, size - k_footer_size, path));
  if (std::memcmp(head, k_head_magic, 8) != 0 ||
      std::memcmp(foot + 48, k_foot_magic, 8) != 0) {
    return make_error("pack {} has a bad header or footer magic", path.string());
  }
  if (get<std::uint32_t>(head + 8) != k_version) {
    return make_error("pack {} has unsupported version {}", path.string(),
                      get<std::uint32_t>(head + 8));
  }
  auto entries_offset = get<std::uint64_t>(foot);
  auto count = get<std::uint64_t>(foot + 8);
  if (entries_offset < k_header_size || count > size / k_entry_size ||
      entries_offset + count * k_entry_size != size - k_footer_size) {
    return make_error("pack {} has an inconsistent footer", path.string());
  }
  std::vector<std::uint8_t> table(count * k_entry_size);
  STASIS_TRY(pread_exact(fd, table, entries_offset, path));
  Hash expected;
  std::memcpy(expected.bytes.data(), foot + 16, 32);
  if (sha256(table) != expected) {
    return make_error("pack {} has a damaged entries table (checksum mismatch)",
                      path.string());
  }
  std::vector<PackEntry> out(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint8_t* p = table.data() + i * k_entry_size;
    auto& e = out[i];
    std::memcpy(e.hash.bytes.data(), p, 32);
    e.offset = get<std::uint64_t>(p + 32);
    e.stored_len = get<std::uint32_t>(p + 40);
    e.raw_len = get<std::uint32_t>(p + 44);
    e.codec = static_cast<Codec>(get<std::uint32_t>(p + 48));
    if (e.offset < k_header_size || e.offset + e.stored_len > entries_offset) {
      return make_error("pack {} entry {} points outside the pack", path.string(), i);
    }
  }
  return out;
}

} // namespace stasis::store
