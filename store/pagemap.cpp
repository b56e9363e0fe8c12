#include "store/pagemap.hpp"

#include <cstring>
#include <optional>

namespace stasis::store {
namespace {

// Cursor over protobuf wire data: just varints and skipping what we ignore.
class Wire {
public:
  explicit Wire(std::span<const std::uint8_t> data) : m_data(data) {}
  bool done() const { return m_pos >= m_data.size(); }

  bool varint(std::uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (m_pos >= m_data.size()) {
        return false;
      }
      std::uint8_t b = m_data[m_pos++];
      out |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return true;
      }
    }
    return false;
  }

  bool skip(std::uint32_t wire_type) {
    std::uint64_t v = 0;
    switch (wire_type) {
    case 0:
      return varint(v);
    case 1:
      return advance(8);
    case 2:
      return varint(v) && advance(v);
    case 5:
      return advance(4);
    default:
      return false;
    }
  }

private:
  bool advance(std::uint64_t n) {
    if (n > m_data.size() - m_pos) {
      return false;
    }
    m_pos += n;
    return true;
  }
  std::span<const std::uint8_t> m_data;
  std::size_t m_pos = 0;
};

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_u32(std::string& out, std::uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

Result<PagemapEntry> parse_entry(std::span<const std::uint8_t> msg) {
  Wire wire(msg);
  PagemapEntry entry;
  bool have_vaddr = false, have_nr = false, have_flags = false, in_parent = false;
  std::uint32_t flags = 0;
  std::optional<std::uint64_t> nr_pages64;
  while (!wire.done()) {
    std::uint64_t key = 0, v = 0;
    if (!wire.varint(key)) {
      return make_error("bad field key");
    }
    auto field = key >> 3;
    auto type = static_cast<std::uint32_t>(key & 7);
    if (type == 0 && field >= 1 && field <= 5) {
      if (!wire.varint(v)) {
        return make_error("bad varint in field {}", field);
      }
      if (field == 1) {
        entry.vaddr = v, have_vaddr = true;
      } else if (field == 2) {
        entry.nr_pages = v, have_nr = true;
      } else if (field == 3) {
        in_parent = v != 0;
      } else if (field == 4) {
        flags = static_cast<std::uint32_t>(v), have_flags = true;
      } else {
        nr_pages64 = v;
      }
    } else if (!wire.skip(type)) {
      return make_error("bad field {}", field);
    }
  }
  if (nr_pages64) {
    entry.nr_pages = *nr_pages64, have_nr = true;
  }
  if (!have_vaddr || !have_nr) {
    return make_error("entry lacks vaddr or nr_pages");
  }
  entry.flags = have_flags ? flags : (in_parent ? k_pe_parent : k_pe_present);
  if (in_parent) {
    entry.flags |= k_pe_parent;
  }
  return entry;
}

} // namespace

std::uint64_t Pagemap::present_pages() const {
  std::uint64_t n = 0;
  for (const auto& e : entries) {
    n += e.present() ? e.nr_pages : 0;
  }
  return n;
}

bool Pagemap::has_parent_entries() const {
  for (const auto& e : entries) {
    if (e.in_parent()) {
      return true;
    }
  }
  return false;
}

bool is_pagemap_name(std::string_view name) {
  return name.starts_with("pagemap") && name.ends_with(".img");
}

Result<Pagemap> parse_pagemap(std::span<const std::uint8_t> image) {
  auto u32_at = [&](std::size_t off) {
    std::uint32_t v;
    std::memcpy(&v, image.data() + off, 4);
    return v;
  };
  std::size_t pos = 0;
  if (image.size() >= 4 && u32_at(0) == k_img_common_magic) {
    pos = 4;
  }
  if (image.size() < pos + 4 || u32_at(pos) != k_pagemap_magic) {
    return make_error("not a CRIU pagemap image (bad magic)");
  }
  pos += 4;
  Pagemap out;
  bool have_head = false;
  while (pos < image.size()) {
    if (image.size() - pos < 4) {
      return make_error("truncated entry size at offset {}", pos);
    }
    std::uint32_t size = u32_at(pos);
    pos += 4;
    if (size > image.size() - pos) {
      return make_error("truncated entry at offset {}", pos);
    }
    auto msg = image.subspan(pos, size);
    pos += size;
    if (!have_head) {
      Wire wire(msg);
      while (!wire.done()) {
        std::uint64_t key = 0, v = 0;
        if (!wire.varint(key)) {
          return make_error("bad pagemap head");
        }
        if (key == 0x08) {
          if (!wire.varint(v)) {
            return make_error("bad pagemap head");
          }
          out.pages_id = static_cast<std::uint32_t>(v);
        } else if (!wire.skip(static_cast<std::uint32_t>(key & 7))) {
          return make_error("bad pagemap head");
        }
      }
      have_head = true;
      continue;
    }
    auto entry = parse_entry(msg);
    if (!entry) {
      return make_error("bad pagemap entry {}: {}", out.entries.size(), entry.error().message);
    }
    out.entries.push_back(*entry);
  }
  if (!have_head) {
    return make_error("pagemap image has no head");
  }
  return out;
}

std::string encode_pagemap(const Pagemap& pagemap) {
  std::string out;
  put_u32(out, k_img_common_magic);
  put_u32(out, k_pagemap_magic);
  std::string msg;
  msg.push_back(0x08);
  put_varint(msg, pagemap.pages_id);
  put_u32(out, static_cast<std::uint32_t>(msg.size()));
  out += msg;
  for (const auto& e : pagemap.entries) {
    msg.clear();
    msg.push_back(0x08);
    put_varint(msg, e.vaddr);
    msg.push_back(0x10);
    put_varint(msg, e.nr_pages <= 0xffffffffULL ? e.nr_pages : 0);
    msg.push_back(0x20);
    put_varint(msg, e.flags);
    msg.push_back(0x28);
    put_varint(msg, e.nr_pages);
    put_u32(out, static_cast<std::uint32_t>(msg.size()));
    out += msg;
  }
  return out;
}

} // namespace stasis::store
