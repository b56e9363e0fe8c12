// stasis-wl-memory --bytes N [--dirty-percent P] [--grow-percent G] [--seed S]
//
// Holds N bytes (suffixes K/M/G, binary) of pseudo-random content in anonymous
// memory with a checksum per 4 KiB page; verification re-hashes every page.
// SIGUSR2 rewrites P% of all pages (default 10), spread evenly from a start page
// chosen from seed+step, and with G > 0 maps a NEW region of G% of N filled with
// random content (new mappings land at lower addresses, shifting pages inside
// CRIU's pages-*.img). Status adds bytes (total held), steps, regions, pages,
// dirty_pages (pages rewritten so far), digest (hash of the checksum table) and
// region_addresses (comma-separated start addresses, oldest region first).
// With --self-test-corrupt, SIGUSR2 flips a byte without updating its checksum.
#include "tests/workloads/workload_common.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <sys/mman.h>
#include <thread>
#include <vector>

namespace stasis::workloads {
namespace {

constexpr std::size_t k_page = 4096;
constexpr std::size_t k_words = k_page / sizeof(std::uint64_t);
constexpr std::size_t k_parallel_pages = 16384; // 64 MiB

// Fills one page from seed and returns its checksum.
std::uint64_t fill_page(std::uint64_t* page, std::uint64_t seed) {
  std::uint64_t state = seed;
  for (std::size_t i = 0; i < k_words; ++i) {
    page[i] = splitmix64(state);
  }
  return hash_words(page, k_words);
}

// One anonymous mapping with a checksum per page.
class Region {
public:
  Region(std::size_t pages, std::uint64_t seed) : m_pages(pages), m_sums(pages) {
    // MAP_POPULATE faults the region in bulk: several times faster than one fault
    // per page on this kind of VM.
    void* base = ::mmap(nullptr, pages * k_page, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (base == MAP_FAILED) {
      throw std::runtime_error("cannot map " + std::to_string(pages * k_page) + " bytes");
    }
    m_base = static_cast<std::uint64_t*>(base);
    fill(seed);
  }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region() { ::munmap(m_base, m_pages * k_page); }

  std::size_t pages() const { return m_pages; }
  std::uint64_t* page(std::size_t p) { return m_base + p * k_words; }
  const std::uint64_t* page(std::size_t p) const { return m_base + p * k_words; }
  std::uint64_t sum(std::size_t p) const { return m_sums[p]; }
  void rewrite(std::size_t p, std::uint64_t seed) {
    m_sums[p] = fill_page(page(p), seed);
  }
  const std::vector<std::uint64_t>& sums() const { return m_sums; }

private:
  // Fills every page from seed; large regions use a few threads (joined here, so
  // the workload is single-threaded again before its loop starts).
  void fill(std::uint64_t seed) {
    const auto fill_range = [this, seed](std::size_t begin, std::size_t end) {
      for (std::size_t p = begin; p < end; ++p) {
        m_sums[p] = fill_page(page(p), mix_seed(seed, p));
      }
    };
    const std::size_t threads =
        m_pages < k_parallel_pages
            ? 1
            : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
    std::vector<std::thread> helpers;
    for (std::size_t t = 1; t < threads; ++t) {
      helpers.emplace_back(fill_range, m_pages * t / threads,
                           m_pages * (t + 1) / threads);
    }
    fill_range(0, m_pages / threads);
    for (auto& helper : helpers) {
      helper.join();
    }
  }

  std::uint64_t* m_base = nullptr;
  std::size_t m_pages;
  std::vector<std::uint64_t> m_sums;
};

class MemoryProgram final : public Program {
public:
  explicit MemoryProgram(const Options& options) {
    const auto get = [&](const char* key, const char* fallback) -> std::string {
      const auto it = options.extra.find(key);
      return it == options.extra.end() ? std::string(fallback) : it->second;
    };
    const std::string bytes = get("bytes", "");
    if (bytes.empty()) {
      throw std::invalid_argument("--bytes N is required (e.g. --bytes 64M)");
    }
    m_bytes = parse_size(bytes);
    if (m_bytes < k_page) {
      throw std::invalid_argument("--bytes must be at least one page (4096)");
    }
    m_dirty_percent = parse_number(get("dirty-percent", "10"), "--dirty-percent");
    m_grow_percent = parse_number(get("grow-percent", "0"), "--grow-percent");
    m_seed = parse_number(get("seed", "1"), "--seed");
    if (m_dirty_percent > 100) {
      throw std::invalid_argument("--dirty-percent must be between 0 and 100");
    }
    if (m_grow_percent > 1000) {
      throw std::invalid_argument("--grow-percent must be between 0 and 1000");
    }
    add_region(pages_for(m_bytes));
  }

  void tick() override {}

  std::string verify() override {
    for (std::size_t r = 0; r < m_regions.size(); ++r) {
      const Region& region = *m_regions[r];
      for (std::size_t p = 0; p < region.pages(); ++p) {
        if (hash_words(region.page(p), k_words) != region.sum(p)) {
          return "checksum mismatch in region " + std::to_string(r) + " page " +
                 std::to_string(p);
        }
      }
    }
    return {};
  }

  void step(bool corrupt) override {
    ++m_step;
    if (corrupt) {
      Region& region = *m_regions.front();
      reinterpret_cast<unsigned char*>(region.page(region.pages() / 2))[123] ^= 0x5a;
      return;
    }
    rewrite_pages();
    if (m_grow_percent > 0) {
      add_region(pages_for(m_bytes * m_grow_percent / 100));
    }
    update_digest();
  }

  void report(Status& status) const override {
    std::size_t pages = 0;
    for (const auto& region : m_regions) {
      pages += region->pages();
    }
    char digest[17];
    std::snprintf(digest, sizeof digest, "%016llx",
                  static_cast<unsigned long long>(m_digest));
    status.set("bytes", static_cast<std::uint64_t>(pages * k_page));
    status.set("regions", m_regions.size());
    status.set("pages", pages);
    status.set("dirty_pages", m_dirty_pages);
    status.set("digest", digest);
    std::string addresses;
    for (const auto& region : m_regions) {
      char address[24];
      std::snprintf(address, sizeof address, "%s%#llx", addresses.empty() ? "" : ",",
                    static_cast<unsigned long long>(
                        reinterpret_cast<std::uintptr_t>(region->page(0))));
      addresses += address;
    }
    status.set("region_addresses", addresses);
  }

private:
  static std::size_t pages_for(std::uint64_t bytes) {
    return std::max<std::size_t>(1, (bytes + k_page - 1) / k_page);
  }

  void add_region(std::size_t pages) {
    m_regions.push_back(
        std::make_unique<Region>(pages, mix_seed(m_seed, m_regions.size(), 0x5eed)));
    update_digest();
  }

  // Rewrites P% of all pages, evenly spread from a start page chosen by seed+step.
  void rewrite_pages() {
    std::size_t total = 0;
    for (const auto& region : m_regions) {
      total += region->pages();
    }
    std::size_t count = total * m_dirty_percent / 100;
    if (m_dirty_percent > 0 && count == 0) {
      count = 1;
    }
    std::uint64_t state = mix_seed(m_seed, m_step, 0xd1e7);
    const std::size_t start = splitmix64(state) % total;
    for (std::size_t k = 0; k < count; ++k) {
      std::size_t index = (start + k * total / count) % total;
      for (auto& region : m_regions) {
        if (index < region->pages()) {
          region->rewrite(index, mix_seed(m_seed, m_step, index));
          break;
        }
        index -= region->pages();
      }
    }
    m_dirty_pages += count;
  }

  void update_digest() {
    std::uint64_t digest = 0;
    for (const auto& region : m_regions) {
      digest ^= hash_words(region->sums().data(), region->sums().size()) + digest * 31;
    }
    m_digest = digest;
  }

  std::uint64_t m_bytes = 0;
  std::uint64_t m_dirty_percent = 10;
  std::uint64_t m_grow_percent = 0;
  std::uint64_t m_seed = 1;
  std::uint64_t m_step = 0;
  std::uint64_t m_dirty_pages = 0;
  std::uint64_t m_digest = 0;
  std::vector<std::unique_ptr<Region>> m_regions;
};

} // namespace
} // namespace stasis::workloads

int main(int argc, char** argv) {
  using namespace stasis::workloads;
  return workload_main(argc, argv, {"bytes", "dirty-percent", "grow-percent", "seed"},
                       [](const Options& options) -> std::unique_ptr<Program> {
                         return std::make_unique<MemoryProgram>(options);
                       });
}
