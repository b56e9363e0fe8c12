// Reader and writer for CRIU pagemap images (pagemap-*.img).
//
// A pagemap image is: IMG_COMMON_MAGIC, PAGEMAP_MAGIC, then protobuf entries
// each prefixed by a u32 size: one pagemap_head {pages_id = 1} and then
// pagemap_entry {vaddr = 1, compat_nr_pages = 2, in_parent = 3, flags = 4,
// nr_pages = 5 (u64, CRIU >= 4; wins over field 2)} runs in order. The raw pages-<pages_id>.img holds the pages of the entries flagged
// PE_PRESENT, in pagemap order; PE_PARENT pages live in the parent dump.
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stasis::store {

inline constexpr std::uint32_t k_img_common_magic = 0x54564319;
inline constexpr std::uint32_t k_pagemap_magic = 0x56084025;
inline constexpr std::uint32_t k_pe_parent = 1;
inline constexpr std::uint32_t k_pe_lazy = 2;
inline constexpr std::uint32_t k_pe_present = 4;
inline constexpr std::uint64_t k_page_size = 4096;

// One run of pages. flags is normalised: old images' in_parent becomes
// PE_PARENT and entries without flags become PE_PRESENT.
struct PagemapEntry {
  std::uint64_t vaddr = 0;
  std::uint64_t nr_pages = 0;
  std::uint32_t flags = k_pe_present;

  bool in_parent() const { return (flags & k_pe_parent) != 0; }
  bool present() const { return (flags & k_pe_present) != 0; }
};

// A decoded pagemap image.
struct Pagemap {
  std::uint32_t pages_id = 0;
  std::vector<PagemapEntry> entries;

  // Name of the raw pages image this pagemap describes ("pages-<id>.img").
  std::string pages_file() const { return "pages-" + std::to_string(pages_id) + ".img"; }
  // Number of pages stored in the pages image (present entries).
  std::uint64_t present_pages() const;
  bool has_parent_entries() const;
};

// True for file names CRIU uses for pagemap images (pagemap-*.img).
bool is_pagemap_name(std::string_view name);

// Decodes a pagemap image; errors name what is malformed.
Result<Pagemap> parse_pagemap(std::span<const std::uint8_t> image);

// Encodes a pagemap image (magics, head, entries with explicit flags).
std::string encode_pagemap(const Pagemap& pagemap);

} // namespace stasis::store
