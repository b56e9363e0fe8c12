// Lazy restore from the store: CRIU's lazy-pages daemon (`criu lazy-pages
// --page-server`) fetches the pages of a stored checkpoint from stasis, which
// answers its GET requests straight from the content-addressed chunks.
//
// The restore dir gets every image except the lazily restored pages: pagemaps
// are rewritten so that pages CRIU marked lazy (PE_LAZY: private anonymous
// memory) are no longer PE_PRESENT, and each pages image holds only the few
// pages that cannot be lazy (stacks, shared memory). A restored process that
// touches a page stasis has not sent yet waits for it. If stasis dies before
// every page is in, the lazy-pages daemon loses its page server and gives up:
// the process cannot get the rest of its memory and must be considered lost
// (the store is only read, so it stays intact). stasisd therefore does not
// stop while a lazy restore is in flight (manager/lazy_restore.hpp).
#pragma once

#include "store/blob_index.hpp"
#include "store/chunk_list.hpp"
#include "store/store.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <stop_token>

namespace stasis::store {

// What serving a lazy restore did.
struct LazyServeStats {
  std::uint64_t requests = 0;
  std::uint64_t pages_sent = 0;
  std::uint64_t bytes_sent = 0;
};

class LazySource {
public:
  // Opens checkpoint job/id for a lazy restore: loads its page maps and checks
  // that every chunk is present (a damaged checkpoint is refused up front,
  // before any process depends on it).
  static Result<std::unique_ptr<LazySource>>
  open(const Store& store, const std::string& job, std::uint64_t id);

  // Writes the restore dir (absent or empty): all images but the lazy pages.
  Result<void> write_images(const fs::path& dir) const;

  // Answers the GET requests of one lazy-pages daemon connection until it sends
  // CLOSE/FORCE_CLOSE (or stop is requested). Anything unexpected is refused
  // with a log line and an error.
  Result<LazyServeStats> serve(int fd, const std::stop_token& stop = {});

  // Pages the restore dir leaves to the page server, and how many were sent.
  std::uint64_t lazy_pages() const { return m_lazy_pages; }
  std::uint64_t pages_sent() const { return m_pages_sent.load(); }
  const Manifest& manifest() const { return m_manifest; }

private:
  // A run of lazily served pages of one process.
  struct Run {
    std::uint64_t vaddr = 0;
    std::uint64_t nr_pages = 0;
    std::size_t first = 0; // index into Process::refs
  };
  struct Process {
    std::vector<Run> runs; // sorted by vaddr
    std::vector<ChunkRef> refs;
    std::vector<BlobLocation> locs; // of refs (unused for zero pages)
  };
  // A pagemap and its pages image as written to the restore dir.
  struct PagesImage {
    std::string pagemap_name;
    std::string pagemap; // rewritten image
    std::string pages_name;
    std::vector<ChunkRef> eager; // pages still written to the pages image
    std::vector<BlobLocation> eager_locs;
  };

  LazySource() = default;
  // The chunk and location of a lazy page, or nulls.
  std::pair<const ChunkRef*, const BlobLocation*> find(std::uint64_t pid,
                                                       std::uint64_t vaddr) const;
  // Reads the page of ref at loc into out (k_page_size bytes).
  Result<void> read_page(const ChunkRef& ref, const BlobLocation& loc,
                         std::span<std::uint8_t> out) const;

  Manifest m_manifest;
  BlobIndex m_index; // only the blobs of the images written by write_images()
  std::map<std::uint64_t, Process> m_processes;
  std::vector<PagesImage> m_images;
  std::uint64_t m_lazy_pages = 0;
  std::atomic<std::uint64_t> m_pages_sent{0};
};

} // namespace stasis::store
