// The bundles of one checkpoint in a registry as a lazy restore reads them
// (docs/registry-format.md, "Lazy restore"): a blob is read from its bundle's
// local copy once the background fill has downloaded it whole (its digest
// checked), else from an HTTP Range request of a bounded window around it,
// whose blobs are kept in a bounded memory cache for the requests that
// follow. A read of a bundle the fill is downloading waits for it. Every
// blob is decoded and its SHA-256 checked before it is handed out; a damaged
// one is refused, naming its bundle.
#pragma once

#include "remote/format.hpp"
#include "remote/registry_client.hpp"
#include "store/blob_index.hpp"
#include "util/unique_fd.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace stasis::remote {

// Most bytes one Range request of a lazy read asks for.
inline constexpr std::uint64_t k_lazy_range_bytes = 1 << 20;
// Most stored bytes of ranged reads kept in memory.
inline constexpr std::uint64_t k_lazy_memory_cache_bytes = 64 << 20;
// Bundles the fill downloads at once.
inline constexpr unsigned k_fill_connections = 2;

class BundleCache {
public:
  // dir (created 0700) holds the downloaded bundles; it is removed with the
  // cache.
  BundleCache(Reference ref, const ClientOptions& options, RemoteIndex index,
              fs::path dir);
  ~BundleCache();
  BundleCache(const BundleCache&) = delete;
  BundleCache& operator=(const BundleCache&) = delete;

  const RemoteIndex& index() const { return m_index; }
  std::string where() const { return m_where; }

  // Reads the blob hash at loc (loc.pack: its bundle) into out, decoded and
  // checked.
  Result<void> read(const store::Hash& hash, const store::BlobLocation& loc,
                    std::span<std::uint8_t> out);
  // Reads a blob's stored bytes from its downloaded bundle.
  Result<void> read_downloaded(const IndexEntry& entry, std::vector<std::uint8_t>& out);

  // Downloads every bundle whole (first those in `first`), each one's digest
  // checked, k_fill_connections at a time; the first error ends it (and
  // fails the reads waiting for a bundle). Stops early once cancel() is called.
  Result<void> download_all(const std::vector<std::uint32_t>& first);
  void cancel();

  // Bytes received so far (ranges and whole bundles).
  std::uint64_t bytes_downloaded() const { return m_bytes.load(); }

private:
  enum class State { Absent, Downloading, Ready };

  // Fetches the window of bundle b from entry e on by one Range request and
  // keeps its blobs in memory; out gets e's stored bytes.
  Result<void> fetch_range(std::uint32_t b, const IndexEntry& e,
                           std::vector<std::uint8_t>& out);
  // Takes bundles to download until none is left (or a failure).
  Result<void> download_worker(std::deque<std::uint32_t>& queue);
  Result<void> download(RegistryClient& client, std::uint32_t b);
  // Stored bytes of hash in the memory cache (m_mutex held).
  bool cached(const store::Hash& hash, std::vector<std::uint8_t>& out) const;

  Reference m_ref;
  ClientOptions m_options;
  RemoteIndex m_index;
  std::string m_where;
  fs::path m_dir;
  // Entries of each bundle by offset.
  std::vector<std::vector<const IndexEntry*>> m_by_bundle;

  mutable std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<State> m_state;
  std::vector<util::UniqueFd> m_files; // of each Ready bundle
  std::string m_failure;               // the fill's error, once it failed
  bool m_cancelled = false;
  std::unordered_map<store::Hash, std::vector<std::uint8_t>, store::HashHasher> m_memory;
  std::deque<store::Hash> m_memory_order;
  std::uint64_t m_memory_bytes = 0;

  std::mutex m_range_mutex; // one Range request at a time (one connection)
  RegistryClient m_range_client;
  std::atomic<std::uint64_t> m_bytes{0};
};

} // namespace stasis::remote
