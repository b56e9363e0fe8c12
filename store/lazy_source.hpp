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
//
// Time to resume is what counts, so open() does only what the restore dir
// needs: the manifest, the store's pack tables, the small images, the
// pagemaps and the few chunk lists that hold non-lazy pages. Where the lists
// of the lazy pages start follows from the pagemap (stasis groups pages by
// 128 KiB window, 32 at most, when it stores them; checked on every list
// read, and a checkpoint stored some other way is expanded up front). Those
// lists are read when a GET first needs them, and a background check reads
// the rest and confirms that every chunk is in the store, logging a damaged
// checkpoint at once instead of when the process touches the page.
#pragma once

#include "store/blob_index.hpp"
#include "store/chunk_list.hpp"
#include "store/lazy_source_index.hpp"
#include "store/reader.hpp"
#include "store/store.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

namespace stasis::store {

// Where a lazy restore reads its blobs: the store's packs (LazySource::open),
// or a registry's bundles (remote/lazy_remote.hpp). Reads are thread-safe.
class LazyBlobs {
public:
  virtual ~LazyBlobs() = default;
  // Where hash is (pack or bundle numbers are the backend's), or nullopt.
  virtual std::optional<BlobLocation> find(const Hash& hash) const = 0;
  // Reads the blob hash at loc into out (loc.raw_len bytes), decoded and its
  // content hash checked; an error names the blob and where it was read.
  virtual Result<void> read(const Hash& hash, const BlobLocation& loc,
                            std::span<std::uint8_t> out) const = 0;
};

// What serving a lazy restore did.
struct LazyServeStats {
  std::uint64_t requests = 0;
  std::uint64_t pages_sent = 0;
  std::uint64_t bytes_sent = 0;
};

class LazySource {
public:
  // Opens checkpoint job/id for a lazy restore: loads its page maps and checks
  // that every chunk list is present (a checkpoint missing one is refused up
  // front); the chunks themselves are checked in the background from here on.
  // With a cache, the packs read for an earlier lazy restore are not read
  // again (see LazySourceIndexCache).
  static Result<std::unique_ptr<LazySource>> open(const Store& store,
                                                  const std::string& job,
                                                  std::uint64_t id,
                                                  LazySourceIndexCache* cache = nullptr);
  // Opens a checkpoint whose manifest the caller has checked (a registry's)
  // and whose blobs come from blobs; write_images() then reads every small
  // image through blobs too. Nothing is read from a store, and no background
  // check reads every chunk list (it would compete with the restore for the
  // same connection): the caller checks every blob some other way, as a
  // registry's fill does.
  static Result<std::unique_ptr<LazySource>> open(Manifest manifest,
                                                  std::unique_ptr<LazyBlobs> blobs);
  ~LazySource();
  LazySource(const LazySource&) = delete;
  LazySource& operator=(const LazySource&) = delete;

  // Writes the restore dir (created 0755, or an empty dir of ours, see
  // store/output_dir.hpp): all images but the lazy pages, as 0644 files.
  Result<void> write_images(const fs::path& dir) const;

  // Answers the GET requests of one lazy-pages daemon connection until it sends
  // CLOSE/FORCE_CLOSE (or stop is requested). Anything unexpected is refused
  // with a log line and an error.
  Result<LazyServeStats> serve(int fd, const std::stop_token& stop = {});

  // Waits for the background check of every chunk list and chunk: its result.
  Result<void> checked();

  // Pages the restore dir leaves to the page server, and how many were sent.
  std::uint64_t lazy_pages() const { return m_lazy_pages; }
  std::uint64_t pages_sent() const { return m_pages_sent.load(); }
  // Pages the restore dir's pages images hold (CRIU restores them itself).
  std::uint64_t eager_pages() const;
  const Manifest& manifest() const { return m_manifest; }

private:
  // The pages of one chunk list, once read.
  struct ListPages {
    std::vector<ChunkRef> refs;
    std::vector<BlobLocation> locs; // of refs (unused for zero pages)
  };
  // A pages image and its chunk lists, read on first use.
  struct PagesFile {
    std::string name;
    std::vector<Hash> lists;
    std::vector<std::uint64_t> first_page; // of each list, then the page count
    std::unique_ptr<ListPages[]> pages;    // per list
    std::unique_ptr<std::atomic<std::uint8_t>[]> state; // per list

    std::size_t list_of(std::uint64_t page) const;
  };
  // A run of lazily served pages of one process.
  struct Run {
    std::uint64_t vaddr = 0;
    std::uint64_t nr_pages = 0;
    std::size_t file = 0;    // index into m_files
    std::uint64_t first = 0; // page index in that file
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
  // Everything open() does once m_manifest and m_blobs are set: the hashes of
  // the images write_images() writes (all but the pages) are added to others.
  Result<void> init(std::vector<Hash>& others);
  // Reads list i of file (once; other callers wait for the first).
  Result<void> expand(PagesFile& file, std::size_t i) const;
  Result<void> expand_now(PagesFile& file, std::size_t i) const;
  // Reads one blob through m_blobs.
  Result<void> read_blob(const Hash& hash, std::vector<std::uint8_t>& out) const;
  // The chunks of a (small) file, read now, and the blob reader behind it.
  Result<std::vector<ChunkRef>> chunks_of(const FileRecord& f) const;
  BlobReader reader() const;
  Result<void> write_images(OutputDir& out) const;
  // Reads the page of ref at loc into out (k_page_size bytes).
  Result<void> read_page(const ChunkRef& ref, const BlobLocation& loc,
                         std::span<std::uint8_t> out) const;
  // Every list of every pages file, then every chunk's presence.
  void check_all(const std::stop_token& stop);

  Manifest m_manifest;
  std::unique_ptr<LazyBlobs> m_blobs;
  // The blobs of the images written by write_images(), when read from a store
  // (written in one pass); unset: written file by file through m_blobs.
  std::optional<BlobIndex> m_index;
  std::vector<std::unique_ptr<PagesFile>> m_files;
  std::map<std::uint64_t, std::vector<Run>> m_processes; // pid -> runs by vaddr
  std::vector<PagesImage> m_images;
  std::uint64_t m_lazy_pages = 0;
  std::atomic<std::uint64_t> m_pages_sent{0};
  mutable std::mutex m_failure_mutex;
  mutable std::string m_failure; // first damage found
  Result<void> m_checked = ok();
  std::jthread m_checker;
};

} // namespace stasis::store
