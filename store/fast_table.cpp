#include "store/fast_table.hpp"

#include <cstring>

namespace stasis::store {
namespace {

constexpr std::string_view k_magic = "STFAST1\n";
constexpr std::size_t k_page_record = 32;

template <typename T>
void put(std::string& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}

// Reads fixed-size values off the front of a view, failing when it is short.
class Cursor {
public:
  explicit Cursor(std::string_view data) : m_data(data) {}
  template <typename T>
  bool get(T& v) {
    if (m_data.size() < sizeof(T)) {
      return false;
    }
    std::memcpy(&v, m_data.data(), sizeof(T));
    m_data.remove_prefix(sizeof(T));
    return true;
  }
  bool take(std::size_t n, std::string_view& out) {
    if (m_data.size() < n) {
      return false;
    }
    out = m_data.substr(0, n);
    m_data.remove_prefix(n);
    return true;
  }
  std::size_t left() const { return m_data.size(); }

private:
  std::string_view m_data;
};

} // namespace

std::optional<std::string> encode_fast_table(const FastTable& table) {
  std::size_t size = k_magic.size() + 4;
  for (const auto& [name, pages] : table) {
    if (name.size() > 0xffff) {
      return std::nullopt;
    }
    size += 2 + name.size() + 8 + pages.size() * k_page_record;
  }
  if (size > k_max_fast_table_bytes) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(size);
  out.append(k_magic);
  put(out, static_cast<std::uint32_t>(table.size()));
  for (const auto& [name, pages] : table) {
    put(out, static_cast<std::uint16_t>(name.size()));
    out.append(name);
    put(out, static_cast<std::uint64_t>(pages.size()));
    for (const auto& [vaddr, page] : pages) {
      put(out, vaddr);
      put(out, page.fast.low);
      put(out, page.fast.high);
      put(out, page.ref_tag);
    }
  }
  return out;
}

Result<FastTable> decode_fast_table(std::string_view data) {
  if (data.size() > k_max_fast_table_bytes) {
    return make_error("fast table has {} bytes, more than {}", data.size(),
                      k_max_fast_table_bytes);
  }
  if (!data.starts_with(k_magic)) {
    return make_error("not a fast table");
  }
  Cursor c(data.substr(k_magic.size()));
  std::uint32_t files = 0;
  if (!c.get(files)) {
    return make_error("fast table is truncated");
  }
  FastTable out;
  for (std::uint32_t i = 0; i < files; ++i) {
    std::uint16_t len = 0;
    std::string_view name;
    std::uint64_t count = 0;
    if (!c.get(len) || !c.take(len, name) || !c.get(count) ||
        count > c.left() / k_page_record) {
      return make_error("fast table is truncated");
    }
    auto& pages = out[std::string(name)];
    pages.reserve(count);
    for (std::uint64_t k = 0; k < count; ++k) {
      std::uint64_t vaddr = 0;
      FastPage page;
      c.get(vaddr);
      c.get(page.fast.low);
      c.get(page.fast.high);
      c.get(page.ref_tag);
      pages[vaddr] = page;
    }
  }
  if (c.left() != 0) {
    return make_error("fast table has {} trailing bytes", c.left());
  }
  return out;
}

} // namespace stasis::store
