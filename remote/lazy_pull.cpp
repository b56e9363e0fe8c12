// Lazy restores from a registry: the checkpoint's head and the blobs CRIU
// needs to start come first; the rest is read on demand and filled in the
// background, then committed into the store (remote.hpp, LazyPull).
#include "remote/bundle_cache.hpp"
#include "remote/format.hpp"
#include "remote/registry_client.hpp"
#include "store/pagemap.hpp"
#include "store/transfer.hpp"
#include "util/log.hpp"

#include <map>
#include <set>

namespace stasis::remote {
namespace {

// A lazy restore's blobs: the bundles of one checkpoint.
class RemoteBlobs : public store::LazyBlobs {
public:
  explicit RemoteBlobs(std::shared_ptr<BundleCache> cache) : m_cache(std::move(cache)) {}
  std::optional<store::BlobLocation> find(const store::Hash& hash) const override {
    const IndexEntry* e = m_cache->index().find(hash);
    if (e == nullptr) {
      return std::nullopt;
    }
    return store::BlobLocation{e->bundle, e->stored_len, e->offset, e->raw_len, e->codec};
  }
  Result<void> read(const store::Hash& hash, const store::BlobLocation& loc,
                    std::span<std::uint8_t> out) const override {
    return m_cache->read(hash, loc, out);
  }

private:
  std::shared_ptr<BundleCache> m_cache;
};

// The import's blobs, from the downloaded bundles.
class DownloadedSource : public store::BlobSource {
public:
  explicit DownloadedSource(BundleCache& cache) : m_cache(cache) {}
  Result<void> fetch(const std::vector<store::Hash>& hashes, const Put& put) override {
    std::vector<const IndexEntry*> entries;
    for (const auto& h : hashes) {
      const IndexEntry* e = m_cache.index().find(h);
      if (e == nullptr) {
        return make_error("the index of {} has no blob {}", m_cache.where(),
                          store::to_hex(h));
      }
      entries.push_back(e);
    }
    std::sort(entries.begin(), entries.end(),
              [](const IndexEntry* a, const IndexEntry* b) {
                return std::tie(a->bundle, a->offset) < std::tie(b->bundle, b->offset);
              });
    std::vector<std::uint8_t> stored;
    for (const auto* e : entries) {
      STASIS_TRY(m_cache.read_downloaded(*e, stored));
      STASIS_TRY(put(e->hash, e->codec, e->raw_len, stored));
    }
    return ok();
  }

private:
  BundleCache& m_cache;
};

} // namespace

Result<std::unique_ptr<LazyPull>> LazyPull::open(const Reference& ref,
                                                 const ClientOptions& options,
                                                 const std::filesystem::path& cache_dir) {
  if (ref.tag.empty()) {
    return make_error("restoring {} lazily needs a tag (JOB-ORIGIN-ID or JOB-latest)",
                      ref.to_string());
  }
  RegistryClient client(ref, options);
  auto head = STASIS_TRY(fetch_checkpoint_head(client, ref));
  std::uint64_t small = 0;
  for (const auto& f : head.manifest.files) {
    if (!std::string_view(f.name).starts_with("pages-")) {
      small += f.size;
    }
  }
  if (small > k_max_lazy_small_image_bytes) {
    return make_error("{}: its images other than the pages have {} bytes, more than a "
                      "lazy restore takes ({}); pull it and restore it instead",
                      ref.to_string(), small, k_max_lazy_small_image_bytes);
  }
  std::unique_ptr<LazyPull> pull(new LazyPull());
  pull->m_name = fmt::format("{}@{}", ref.to_string(), head.manifest_digest);
  pull->m_fixed_bytes = head.bytes;
  pull->m_manifest = head.manifest;
  pull->m_cache =
      std::make_shared<BundleCache>(ref, options, std::move(head.index), cache_dir);
  // (No background check of every chunk list: the fill checks every bundle.)
  auto source = store::LazySource::open(std::move(head.manifest),
                                        std::make_unique<RemoteBlobs>(pull->m_cache));
  if (!source) {
    return make_error("{}: {}", pull->m_name, source.error().message);
  }
  if (small + (*source)->eager_pages() * store::k_page_size >
      k_max_lazy_small_image_bytes) {
    return make_error("{}: its images and the pages CRIU restores itself have more "
                      "than the {} bytes a lazy restore takes; pull it and restore it "
                      "instead",
                      pull->m_name, k_max_lazy_small_image_bytes);
  }
  pull->m_source = std::move(*source);
  return pull;
}

LazyPull::~LazyPull() {
  if (m_cache) {
    m_cache->cancel();
  }
}

std::uint64_t LazyPull::logical_bytes() const {
  std::uint64_t total = 0;
  for (const auto& f : m_manifest.files) {
    total += f.size;
  }
  return total;
}

std::uint64_t LazyPull::bundle_bytes() const {
  std::uint64_t total = 0;
  for (const auto& b : m_cache->index().bundles) {
    total += b.size;
  }
  return total;
}

std::uint64_t LazyPull::bytes_downloaded() const {
  return m_fixed_bytes + m_cache->bytes_downloaded();
}

void LazyPull::cancel() {
  m_cache->cancel();
}

Result<store::CheckpointSummary> LazyPull::fill(store::Store& store,
                                                const std::string& into_job,
                                                const store::StoreLimits& limits) {
  if (limits.max_new_bytes && bundle_bytes() > *limits.max_new_bytes) {
    return make_error("{}: its bundles ({} bytes) are larger than what may be stored "
                      "({} bytes)",
                      m_name, bundle_bytes(), *limits.max_new_bytes);
  }
  // The chunk lists first: the lazy source reads every one of them.
  std::set<std::uint32_t> list_bundles;
  for (const auto& f : m_manifest.files) {
    for (const auto& h : f.lists) {
      if (const IndexEntry* e = m_cache->index().find(h)) {
        list_bundles.insert(e->bundle);
      }
    }
  }
  auto downloaded = m_cache->download_all({list_bundles.begin(), list_bundles.end()});
  if (!downloaded) {
    return make_error("cannot fill {}: {}", m_name, downloaded.error().message);
  }
  DownloadedSource source(*m_cache);
  return store.import_from_source(m_manifest, source, m_name, into_job, limits);
}

} // namespace stasis::remote
