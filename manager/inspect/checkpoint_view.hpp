// What `stasisctl inspect` and `stasisctl diff` read from a stored checkpoint:
// its manifest, the contents of its CRIU images (engine/image_contents.hpp)
// and, per process, an identity of every dumped page taken from the store's
// chunk hashes (the store keeps memory one 4 KiB page per chunk, so two
// checkpoints' pages compare without reading them).
#pragma once

#include "engine/image_contents.hpp"
#include "store/manifest.hpp"
#include "store/pagemap.hpp"
#include "store/store.hpp"

#include <map>

namespace stasis::manager::inspect {

// Most dumped pages one checkpoint's page identities may hold (64 GiB of
// memory, 1 GiB of identities): a diff of larger checkpoints is refused.
inline constexpr std::uint64_t k_max_diff_pages = 1ULL << 24;

// One dumped page: its address and an identity of its content (0 for a page
// of zeros; equal identities mean equal content).
struct PageId {
  std::uint64_t vaddr = 0;
  std::uint64_t content = 0;
};

// A stored checkpoint as inspection sees it.
struct CheckpointView {
  store::Manifest manifest; // files' chunk lists dropped
  engine::ImageContents contents;
  // Dumped pages per process, by address (only with pages requested).
  std::map<pid_t, std::vector<PageId>> pages;
  // Dumped pages per process (from the pagemaps; always filled).
  std::map<pid_t, std::vector<std::pair<std::uint64_t, std::uint64_t>>> dumped_runs;
};

// Reads checkpoint job/id of store under the store's shared lock; with
// with_pages also the identities of its dumped pages, at most max_pages.
Result<CheckpointView> read_view(const store::Store& store, const std::string& job,
                                 std::uint64_t id, bool with_pages,
                                 std::uint64_t max_pages = k_max_diff_pages);

} // namespace stasis::manager::inspect
