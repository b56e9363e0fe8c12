// Synthetic CRIU images dirs for the store's unit tests.
#pragma once

#include "store/fs_util.hpp"
#include "store/pagemap.hpp"
#include "store/store.hpp"

#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unistd.h>

namespace stasis::store::testing {

// A memory image: page contents by virtual address.
struct FakeMemory {
  std::map<std::uint64_t, std::string> pages; // vaddr -> 4096 bytes

  static std::string random_page(std::mt19937_64& rng) {
    std::string page(4096, '\0');
    for (std::size_t i = 0; i < page.size(); i += 8) {
      auto v = rng();
      std::memcpy(page.data() + i, &v, 8);
    }
    return page;
  }

  void fill(std::uint64_t vaddr, std::size_t n, std::mt19937_64& rng) {
    for (std::size_t i = 0; i < n; ++i) {
      pages[vaddr + i * 4096] = random_page(rng);
    }
  }
};

// Writes an images dir: inventory.img, core-1.img, pagemap-1.img and
// pages-1.img for mem. Pages whose vaddr is in in_parent are written as
// PE_PARENT runs (CRIU incremental dump) and left out of pages-1.img.
inline void write_images(const fs::path& dir, const FakeMemory& mem,
                         const std::set<std::uint64_t>& in_parent = {}) {
  fs::create_directories(dir);
  (void)atomic_write_file(dir / "inventory.img", "inventory-v1");
  (void)atomic_write_file(dir / "core-1.img", std::string(3000, 'c'));
  Pagemap pm;
  pm.pages_id = 1;
  std::string pages;
  for (const auto& [vaddr, data] : mem.pages) {
    bool parent = in_parent.contains(vaddr);
    std::uint32_t flags = parent ? k_pe_parent : k_pe_present;
    if (!pm.entries.empty() && pm.entries.back().flags == flags &&
        pm.entries.back().vaddr + pm.entries.back().nr_pages * 4096 == vaddr) {
      ++pm.entries.back().nr_pages;
    } else {
      pm.entries.push_back({vaddr, 1, flags});
    }
    if (!parent) {
      pages += data;
    }
  }
  (void)atomic_write_file(dir / "pagemap-1.img", encode_pagemap(pm));
  (void)atomic_write_file(dir / "pages-1.img", pages);
}

// A fresh temporary directory, removed on destruction.
class ScratchDir {
public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "stasis-store-XXXXXX").string();
    m_path = ::mkdtemp(tmpl.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  const fs::path& path() const { return m_path; }

private:
  fs::path m_path;
};

inline std::string slurp(const fs::path& p) {
  return read_file(p).value_or(std::string{});
}

} // namespace stasis::store::testing
