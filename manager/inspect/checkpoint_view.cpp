#include "manager/inspect/checkpoint_view.hpp"

#include "store/ingest.hpp"
#include "store/pagemap.hpp"
#include "store/reader.hpp"

#include <algorithm>
#include <cstring>

namespace stasis::manager::inspect {
namespace {

const store::FileRecord* find_file(const store::Manifest& m, const std::string& name) {
  for (const auto& f : m.files) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

// The identity of the n-th page of a chunk: its hash, mixed with n for a
// chunk of several pages (the store writes one page per chunk; zero runs are
// the exception and stay 0).
std::uint64_t page_identity(const store::Hash& hash, std::uint64_t n) {
  if (hash.is_zero()) {
    return 0;
  }
  std::uint64_t v = 0;
  std::memcpy(&v, hash.bytes.data(), sizeof v);
  v ^= n * 0x9E3779B97F4A7C15ULL;
  return v == 0 ? 1 : v;
}

Result<store::Pagemap> read_pagemap(const store::BlobIndex& index,
                                    const store::FileRecord& file) {
  if (file.size > store::k_max_pagemap_bytes) {
    return make_error("{} has {} bytes, more than the {} a pagemap may have", file.name,
                      file.size, store::k_max_pagemap_bytes);
  }
  const auto bytes = STASIS_TRY(store::read_stored_file(index, file));
  auto pm = store::parse_pagemap(
      {reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  if (!pm) {
    return make_error("{}: {}", file.name, pm.error().message);
  }
  return std::move(*pm);
}

// The identities of the dumped pages of one process, from its pagemap and
// the chunks of its pages image.
Result<std::vector<PageId>> page_ids(const store::BlobIndex& index,
                                     const store::Manifest& m, const store::Pagemap& pm,
                                     const std::string& name, std::uint64_t& budget,
                                     std::uint64_t max_pages) {
  const std::uint64_t present = pm.present_pages();
  if (present > budget) {
    return make_error("the checkpoint has more than {} dumped pages; it is too large "
                      "to compare",
                      max_pages);
  }
  budget -= present;
  const auto* pages_file = find_file(m, pm.pages_file());
  if (pages_file == nullptr) {
    if (present == 0) {
      return std::vector<PageId>{};
    }
    return make_error("{} names {}, which the checkpoint lacks", name, pm.pages_file());
  }
  const auto chunks = STASIS_TRY(store::file_chunks(index, *pages_file));
  std::vector<PageId> ids;
  ids.reserve(present);
  std::size_t chunk = 0;
  std::uint64_t offset = 0; // within the current chunk
  for (const auto& e : pm.entries) {
    if (!e.present()) {
      continue;
    }
    for (std::uint64_t i = 0; i < e.nr_pages; ++i) {
      while (chunk < chunks.size() && offset >= chunks[chunk].size) {
        ++chunk;
        offset = 0;
      }
      if (chunk == chunks.size() || chunks[chunk].size - offset < store::k_page_size) {
        return make_error("{} does not hold the pages {} names", pm.pages_file(), name);
      }
      ids.push_back({e.vaddr + i * store::k_page_size,
                     page_identity(chunks[chunk].hash, offset / store::k_page_size)});
      offset += store::k_page_size;
    }
  }
  std::sort(ids.begin(), ids.end(),
            [](const auto& a, const auto& b) { return a.vaddr < b.vaddr; });
  return ids;
}

} // namespace

Result<CheckpointView> read_view(const store::Store& store, const std::string& job,
                                 std::uint64_t id, bool with_pages,
                                 std::uint64_t max_pages) {
  CheckpointView view;
  const store::Store::CheckpointReader read =
      [&](const store::Manifest& m, const store::BlobIndex& index) -> Result<void> {
    const engine::ImageSource source =
        [&](const std::string& name,
            std::size_t limit) -> Result<std::optional<std::string>> {
      const auto* file = find_file(m, name);
      if (file == nullptr) {
        return std::optional<std::string>{};
      }
      if (file->size > limit) {
        return make_error("{} has {} bytes, more than the {} inspection reads", name,
                          file->size, limit);
      }
      return std::optional<std::string>(
          STASIS_TRY(store::read_stored_file(index, *file)));
    };
    view.contents = STASIS_TRY(engine::read_image_contents(source));
    std::uint64_t budget = max_pages;
    for (const auto& p : view.contents.processes) {
      const std::string name = "pagemap-" + std::to_string(p.pid) + ".img";
      const auto* file = find_file(m, name);
      if (file == nullptr) {
        continue; // a zombie
      }
      const auto pm = STASIS_TRY(read_pagemap(index, *file));
      auto& runs = view.dumped_runs[p.pid];
      for (const auto& e : pm.entries) {
        if (e.present()) {
          runs.emplace_back(e.vaddr, e.nr_pages);
        }
      }
      if (with_pages) {
        view.pages[p.pid] = STASIS_TRY(page_ids(index, m, pm, name, budget, max_pages));
      }
    }
    view.manifest = m;
    for (auto& f : view.manifest.files) {
      f.lists.clear();
    }
    return ok();
  };
  STASIS_TRY(store.read_checkpoint(job, id, read));
  return view;
}

} // namespace stasis::manager::inspect
