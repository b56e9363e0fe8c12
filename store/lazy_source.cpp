#include "store/lazy_source.hpp"

#include "store/ingest.hpp"
#include "store/lazy_source_index.hpp"
#include "store/page_server_images.hpp"
#include "store/page_server_socket.hpp"
#include "store/page_server_wire.hpp"
#include "store/pagemap.hpp"
#include "store/parallel.hpp"
#include "store/reader.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <charconv>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <unistd.h>

namespace stasis::store {
namespace ps = page_server;
namespace {

// Largest GET answered (64 MiB of pages); CRIU asks for far less.
constexpr std::uint64_t k_max_get_pages = 1ULL << 14;

// The pid of "pagemap-<pid>.img"; nullopt for shmem and other pagemaps.
std::optional<std::uint64_t> pagemap_pid(std::string_view name) {
  constexpr std::string_view prefix = "pagemap-";
  constexpr std::string_view suffix = ".img";
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) {
    return std::nullopt;
  }
  auto digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  std::uint64_t pid = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (ec != std::errc{} || end != digits.data() + digits.size() || digits.empty()) {
    return std::nullopt;
  }
  return pid;
}

constexpr std::uint8_t k_list_new = 0;
constexpr std::uint8_t k_list_busy = 1;
constexpr std::uint8_t k_list_done = 2;
constexpr std::uint8_t k_list_failed = 3;

// Where each chunk list of a pages image starts, as stasis stores pages: a new
// list at each 128 KiB window and after k_pages_per_list pages (ingest.cpp,
// page_server_images.cpp). Empty if the pagemap's pages cannot make up
// `lists` lists of `size` bytes that way.
std::vector<std::uint64_t> list_starts(const Pagemap& pm, std::size_t lists,
                                       std::uint64_t size) {
  std::vector<std::uint64_t> starts;
  std::uint64_t page = 0;
  std::uint64_t group = 0;
  std::uint64_t in_list = 0;
  for (const auto& e : pm.entries) {
    if (!e.present()) {
      continue;
    }
    for (std::uint64_t k = 0; k < e.nr_pages; ++k, ++page) {
      const std::uint64_t g = (e.vaddr + k * k_page_size) >> 17;
      if (starts.empty() || g != group || in_list >= k_pages_per_list) {
        starts.push_back(page);
        in_list = 0;
      }
      group = g;
      ++in_list;
    }
  }
  if (starts.size() != lists || page * k_page_size != size) {
    return {};
  }
  starts.push_back(page);
  return starts;
}

Result<void> refuse(const ps::Header& h, const std::string& why) {
  auto message =
      fmt::format("lazy page server: refusing {} (nr_pages {}, vaddr {:#x}, "
                  "dst_id {:#x}) from the lazy-pages daemon: {}; closing the "
                  "connection",
                  ps::command_name(h.command()), h.nr_pages, h.vaddr, h.dst_id, why);
  log::get("store")->error("{}", message);
  return make_error("{}", message);
}

Result<void> write_new_file(OutputDir& out, const std::string& name,
                            std::span<const std::uint8_t> data) {
  auto fd = STASIS_TRY(out.create(name));
  return write_all(fd.get(), data, out.path() / name);
}

// The store's packs: the flat index for lookups, a BlobIndex over the same
// packs (same numbers) for reads by location.
class PackBlobs : public LazyBlobs {
public:
  PackBlobs(LazySourceIndex all, BlobIndex reader)
      : m_all(std::move(all)), m_reader(std::move(reader)) {}
  std::optional<BlobLocation> find(const Hash& hash) const override {
    return m_all.find(hash);
  }
  Result<void> read(const Hash& hash, const BlobLocation& loc,
                    std::span<std::uint8_t> out) const override {
    thread_local std::vector<std::uint8_t> stored;
    STASIS_TRY(m_reader.read_stored(loc, stored));
    return m_reader.decode(hash, loc, stored, out);
  }
  const LazySourceIndex& all() const { return m_all; }

private:
  LazySourceIndex m_all;
  BlobIndex m_reader;
};

} // namespace

Result<std::unique_ptr<LazySource>> LazySource::open(const Store& store,
                                                     const std::string& job,
                                                     std::uint64_t id,
                                                     LazySourceIndexCache* cache) {
  if (!valid_job_name(job)) {
    return make_error("invalid job name '{}'", job);
  }
  auto held = STASIS_TRY(FileLock::acquire(store.root() / "store.lock", false));
  std::unique_ptr<LazySource> src(new LazySource());
  src->m_manifest = STASIS_TRY(Catalog(store.root() / "jobs").load(job, id));
  const auto packs = store.root() / "packs";
  // Only this checkpoint's blobs are looked up: the store's full BlobIndex
  // (every blob of every checkpoint) costs far more to build.
  auto all = cache != nullptr ? STASIS_TRY(cache->load(packs))
                              : STASIS_TRY(LazySourceIndex::load(packs));
  auto reader = STASIS_TRY(all.subset(packs, {}));
  auto blobs = std::make_unique<PackBlobs>(std::move(all), std::move(reader));
  const auto* pack_blobs = blobs.get();
  src->m_blobs = std::move(blobs);
  src->m_index = BlobIndex::empty(packs); // filled below
  std::vector<Hash> others;
  STASIS_TRY(src->init(others));
  src->m_index = STASIS_TRY(pack_blobs->all().subset(packs, others));
  return src;
}

Result<std::unique_ptr<LazySource>> LazySource::open(Manifest manifest,
                                                     std::unique_ptr<LazyBlobs> blobs) {
  std::unique_ptr<LazySource> src(new LazySource());
  src->m_manifest = std::move(manifest);
  src->m_blobs = std::move(blobs);
  std::vector<Hash> others;
  STASIS_TRY(src->init(others));
  return src;
}

Result<void> LazySource::init(std::vector<Hash>& others) {
  auto* src = this;
  const auto& job = m_manifest.job;
  const auto id = m_manifest.id;
  auto damaged = [&](const std::string& why) {
    return make_error("checkpoint {}/{} is damaged; cannot restore it lazily ({})", job,
                      id, why);
  };
  std::map<std::string, const FileRecord*> files;
  for (const auto& f : src->m_manifest.files) {
    files[f.name] = &f;
    for (const auto& h : f.lists) {
      if (!src->m_blobs->find(h)) {
        return damaged(fmt::format("{}: chunk list {} is missing from the store", f.name,
                                   to_hex(h)));
      }
    }
  }
  // The pagemaps first: they say which images hold pages.
  std::vector<std::pair<const FileRecord*, Pagemap>> pagemaps;
  std::set<std::string> page_images;
  for (const auto& f : src->m_manifest.files) {
    if (!is_pagemap_name(f.name)) {
      continue;
    }
    auto text = read_stored_file(src->reader(), f);
    if (!text) {
      return damaged(fmt::format("{}: {}", f.name, text.error().message));
    }
    auto pm = parse_pagemap(
        {reinterpret_cast<const std::uint8_t*>(text->data()), text->size()});
    if (!pm) {
      return make_error("checkpoint {}/{}: {}: {}", job, id, f.name, pm.error().message);
    }
    page_images.insert(pm->pages_file());
    pagemaps.emplace_back(&f, std::move(*pm));
  }
  for (auto& [f, pm] : pagemaps) {
    const auto pid = pagemap_pid(f->name);
    PagesImage image{f->name, "", pm.pages_file(), {}, {}};
    auto file = std::make_unique<PagesFile>();
    file->name = pm.pages_file();
    if (auto pages = files.find(pm.pages_file()); pages != files.end()) {
      file->lists = pages->second->lists;
      file->first_page = list_starts(pm, file->lists.size(), pages->second->size);
      if (file->first_page.empty() && !file->lists.empty()) {
        // Not grouped the way stasis stores pages: read every list now.
        file->first_page.push_back(0);
        std::vector<std::uint8_t> blob;
        std::vector<ChunkRef> list;
        for (const auto& h : file->lists) {
          list.clear();
          auto read = src->read_blob(h, blob);
          if (read) {
            read = decode_chunk_list(blob, list);
          }
          if (!read) {
            return damaged(
                fmt::format("chunk list of {}: {}", file->name, read.error().message));
          }
          file->first_page.push_back(file->first_page.back() + list.size());
        }
        if (file->first_page.back() * k_page_size != pages->second->size) {
          return damaged(fmt::format("{} is not made of whole pages", file->name));
        }
      }
    }
    if (file->first_page.empty()) {
      file->first_page.push_back(0); // no pages image, or lists that add up to none
    }
    const std::uint64_t pages = file->first_page.back();
    if (pages != pm.present_pages()) {
      return make_error("checkpoint {}/{}: {} does not match {}", job, id,
                        pm.pages_file(), f->name);
    }
    file->pages.reset(new ListPages[file->lists.size()]);
    file->state.reset(new std::atomic<std::uint8_t>[file->lists.size()]);
    for (std::size_t i = 0; i < file->lists.size(); ++i) {
      file->state[i].store(k_list_new);
    }
    const std::size_t file_index = src->m_files.size();
    Pagemap rewritten = pm;
    std::uint64_t next = 0;
    for (auto& e : rewritten.entries) {
      if (!e.present()) {
        continue;
      }
      const std::uint64_t first = next;
      next += e.nr_pages;
      if (pid && (e.flags & k_pe_lazy) != 0) {
        src->m_processes[*pid].push_back({e.vaddr, e.nr_pages, file_index, first});
        e.flags &= ~k_pe_present;
        src->m_lazy_pages += e.nr_pages;
        continue;
      }
      // A page CRIU restores itself: its lists are read now.
      for (std::uint64_t p = first; p < next; ++p) {
        const auto list = file->list_of(p);
        if (auto read = src->expand(*file, list); !read) {
          return damaged(read.error().message);
        }
        const auto k = p - file->first_page[list];
        image.eager.push_back(file->pages[list].refs[k]);
        image.eager_locs.push_back(file->pages[list].locs[k]);
      }
    }
    image.pagemap = ps::encode_criu_pagemap(rewritten);
    src->m_images.push_back(std::move(image));
    src->m_files.push_back(std::move(file));
  }
  for (auto& [pid, runs] : src->m_processes) {
    std::sort(runs.begin(), runs.end(),
              [](const Run& a, const Run& b) { return a.vaddr < b.vaddr; });
    for (std::size_t i = 1; i < runs.size(); ++i) {
      if (runs[i].vaddr < runs[i - 1].vaddr + runs[i - 1].nr_pages * k_page_size) {
        return make_error("checkpoint {}/{}: two pagemaps of pid {}", job, id, pid);
      }
    }
  }
  // The other images are small: their chunks are looked up now.
  for (const auto& f : src->m_manifest.files) {
    if (is_pagemap_name(f.name) || page_images.contains(f.name)) {
      continue;
    }
    auto refs = src->chunks_of(f);
    if (!refs) {
      return damaged(refs.error().message);
    }
    for (const auto& r : *refs) {
      if (r.hash.is_zero()) {
        continue;
      }
      if (!src->m_blobs->find(r.hash)) {
        return damaged(fmt::format("{}: chunk {} is missing from the store", f.name,
                                   to_hex(r.hash)));
      }
      others.push_back(r.hash);
    }
    others.insert(others.end(), f.lists.begin(), f.lists.end());
  }
  // A checkpoint of the store (m_index set) has every chunk list checked in
  // the background. One read from elsewhere is not: its lists are read as
  // requests need them, since a check would compete with the restore for the
  // same connection, and the caller checks every blob anyway (a registry's
  // fill, remote/remote.hpp).
  if (m_index) {
    src->m_checker =
        std::jthread([s = src](std::stop_token stop) { s->check_all(stop); });
  }
  log::get("store")->debug("lazy restore of {}/{}: {} pages served on demand", job, id,
                           src->m_lazy_pages);
  return ok();
}

LazySource::~LazySource() {
  if (m_checker.joinable()) {
    m_checker.request_stop();
    m_checker.join();
  }
}

Result<void> LazySource::read_blob(const Hash& hash,
                                   std::vector<std::uint8_t>& out) const {
  const auto loc = m_blobs->find(hash);
  if (!loc) {
    return make_error("blob {} is missing from the store", to_hex(hash));
  }
  out.resize(loc->raw_len);
  return m_blobs->read(hash, *loc, out);
}

Result<std::vector<ChunkRef>> LazySource::chunks_of(const FileRecord& f) const {
  return file_chunks(reader(), f);
}

BlobReader LazySource::reader() const {
  return [this](const Hash& hash, std::vector<std::uint8_t>& out) {
    return read_blob(hash, out);
  };
}

Result<void> LazySource::expand(PagesFile& file, std::size_t i) const {
  auto& state = file.state[i];
  for (;;) {
    std::uint8_t s = state.load(std::memory_order_acquire);
    if (s == k_list_done) {
      return ok();
    }
    if (s == k_list_failed) {
      std::lock_guard lock(m_failure_mutex);
      return make_error("{}", m_failure);
    }
    if (s == k_list_new &&
        state.compare_exchange_strong(s, k_list_busy, std::memory_order_acq_rel)) {
      auto read = expand_now(file, i);
      if (!read) {
        std::lock_guard lock(m_failure_mutex);
        if (m_failure.empty()) {
          m_failure = read.error().message;
        }
      }
      state.store(read ? k_list_done : k_list_failed, std::memory_order_release);
      state.notify_all();
      return read;
    }
    state.wait(k_list_busy, std::memory_order_acquire);
  }
}

Result<void> LazySource::expand_now(PagesFile& file, std::size_t i) const {
  thread_local std::vector<std::uint8_t> blob;
  thread_local std::vector<ChunkRef> list;
  list.clear();
  STASIS_TRY(read_blob(file.lists[i], blob));
  STASIS_TRY(decode_chunk_list(blob, list));
  const std::uint64_t first = file.first_page[i];
  auto& out = file.pages[i];
  out.locs.resize(list.size());
  if (list.size() != file.first_page[i + 1] - first) {
    return make_error("{}: chunk list {} has {} pages where its pagemap says {}",
                      file.name, to_hex(file.lists[i]), list.size(),
                      file.first_page[i + 1] - first);
  }
  for (std::size_t k = 0; k < list.size(); ++k) {
    const auto& r = list[k];
    if (r.size != k_page_size) {
      return make_error("{}: chunk {} has {} bytes, not a page", file.name,
                        to_hex(r.hash), r.size);
    }
    if (!r.hash.is_zero()) {
      const auto loc = m_blobs->find(r.hash);
      if (!loc) {
        return make_error("{}: chunk {} is missing from the store", file.name,
                          to_hex(r.hash));
      }
      out.locs[k] = *loc;
    }
  }
  out.refs = list;
  return ok();
}

std::size_t LazySource::PagesFile::list_of(std::uint64_t page) const {
  return static_cast<std::size_t>(
      std::upper_bound(first_page.begin(), first_page.end(), page) - first_page.begin() -
      1);
}

void LazySource::check_all(const std::stop_token& stop) {
  for (auto& file : m_files) {
    for (std::size_t i = 0; i < file->lists.size(); ++i) {
      if (stop.stop_requested()) {
        return;
      }
      if (auto read = expand(*file, i); !read) {
        m_checked =
            make_error("checkpoint {}/{} is damaged: {}; a lazily restored process "
                       "that touches those pages cannot get them",
                       m_manifest.job, m_manifest.id, read.error().message);
        log::get("store")->error("lazy page server: {}", m_checked.error().message);
        return;
      }
    }
  }
}

std::uint64_t LazySource::eager_pages() const {
  std::uint64_t pages = 0;
  for (const auto& image : m_images) {
    pages += image.eager.size();
  }
  return pages;
}

Result<void> LazySource::checked() {
  if (m_checker.joinable()) {
    m_checker.join();
  }
  return m_checked;
}

Result<void> LazySource::write_images(const fs::path& dir) const {
  auto out = STASIS_TRY(OutputDir::open(dir));
  auto written = write_images(out);
  if (!written) {
    out.discard();
  }
  return written;
}

Result<void> LazySource::write_images(OutputDir& out) const {
  std::set<std::string> page_images;
  for (const auto& image : m_images) {
    page_images.insert(image.pagemap_name);
    page_images.insert(image.pages_name);
  }
  Manifest others = m_manifest;
  std::erase_if(others.files,
                [&](const FileRecord& f) { return page_images.contains(f.name); });
  if (m_index) {
    STASIS_TRY(write_checkpoint(*m_index, others, out));
  } else {
    for (const auto& f : others.files) {
      auto text = STASIS_TRY(read_stored_file(reader(), f));
      STASIS_TRY(write_new_file(
          out, f.name,
          {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}));
    }
  }
  for (const auto& image : m_images) {
    STASIS_TRY(
        write_new_file(out, image.pagemap_name,
                       {reinterpret_cast<const std::uint8_t*>(image.pagemap.data()),
                        image.pagemap.size()}));
    std::vector<std::uint8_t> pages(image.eager.size() * k_page_size);
    for (std::size_t i = 0; i < image.eager.size(); ++i) {
      STASIS_TRY(read_page(image.eager[i], image.eager_locs[i],
                           std::span(pages).subspan(i * k_page_size, k_page_size)));
    }
    STASIS_TRY(write_new_file(out, image.pages_name, pages));
  }
  return ok();
}

Result<void> LazySource::read_page(const ChunkRef& ref, const BlobLocation& loc,
                                   std::span<std::uint8_t> out) const {
  if (ref.hash.is_zero()) {
    std::fill(out.begin(), out.end(), 0);
    return ok();
  }
  if (ref.size != k_page_size || loc.raw_len != k_page_size) {
    return make_error("page chunk {} has {} bytes, not a page", to_hex(ref.hash),
                      loc.raw_len);
  }
  return m_blobs->read(ref.hash, loc, out);
}

Result<LazyServeStats> LazySource::serve(int fd, const std::stop_token& stop) {
  LazyServeStats stats;
  std::array<std::uint8_t, ps::k_header_size> raw{};
  std::vector<std::uint8_t> reply;
  for (;;) {
    auto more = ps::read_full(fd, raw, true, stop);
    if (!more) {
      log::get("store")->error("lazy page server: {}", more.error().message);
      return Unexpected(std::move(more).error());
    }
    if (!*more) {
      auto message = fmt::format("the lazy-pages daemon closed the connection without "
                                 "CLOSE after {} of {} pages",
                                 m_pages_sent.load(), m_lazy_pages);
      log::get("store")->error("lazy page server: {}", message);
      return make_error("{}", message);
    }
    auto h = ps::decode_header(raw);
    if (h.command() == ps::k_close || h.command() == ps::k_force_close) {
      const std::uint32_t status = 0;
      STASIS_TRY(ps::send_full(fd, {reinterpret_cast<const std::uint8_t*>(&status), 4}));
      log::get("store")->debug("lazy page server: {} requests, {} pages sent",
                               stats.requests, stats.pages_sent);
      return stats;
    }
    if (h.command() != ps::k_get) {
      STASIS_TRY(refuse(h, "a lazy restore only sends GET and CLOSE"));
    }
    if (h.nr_pages == 0 || h.nr_pages > k_max_get_pages) {
      STASIS_TRY(refuse(h, "bad page count"));
    }
    // The request must lie within one run of lazy pages of that pid.
    const Run* run = nullptr;
    if (auto p = m_processes.find(h.dst_id); p != m_processes.end()) {
      auto it =
          std::upper_bound(p->second.begin(), p->second.end(), h.vaddr,
                           [](std::uint64_t v, const Run& r) { return v < r.vaddr; });
      if (it != p->second.begin()) {
        --it;
        const std::uint64_t offset = h.vaddr - it->vaddr;
        if (offset % k_page_size == 0 &&
            offset / k_page_size + h.nr_pages <= it->nr_pages) {
          run = &*it;
        }
      }
    }
    if (run == nullptr) {
      STASIS_TRY(refuse(
          h, fmt::format("pages {:#x}+{} of pid {} are not a lazy page run of "
                         "checkpoint {}/{}",
                         h.vaddr, h.nr_pages, h.dst_id, m_manifest.job, m_manifest.id)));
    }
    PagesFile& file = *m_files[run->file];
    const std::uint64_t first = run->first + (h.vaddr - run->vaddr) / k_page_size;
    reply.resize(ps::k_header_size + h.nr_pages * k_page_size);
    std::copy(raw.begin(), raw.end(), reply.begin());
    std::mutex mutex;
    std::string failure;
    parallel_for(
        h.nr_pages,
        [&](std::size_t begin, std::size_t end) {
          for (std::size_t k = begin; k < end; ++k) {
            const std::uint64_t page = first + k;
            const auto list = file.list_of(page);
            auto read = expand(file, list);
            if (read) {
              const auto in_list = page - file.first_page[list];
              read = read_page(file.pages[list].refs[in_list],
                               file.pages[list].locs[in_list],
                               std::span(reply).subspan(
                                   ps::k_header_size + k * k_page_size, k_page_size));
            }
            if (!read) {
              std::lock_guard lock(mutex);
              failure = read.error().message;
              return;
            }
          }
        },
        64);
    if (!failure.empty()) {
      auto message = fmt::format("cannot serve pages of checkpoint {}/{}: {}",
                                 m_manifest.job, m_manifest.id, failure);
      log::get("store")->error("lazy page server: {}", message);
      return make_error("{}", message);
    }
    STASIS_TRY(ps::send_full(fd, reply));
    ++stats.requests;
    stats.pages_sent += h.nr_pages;
    stats.bytes_sent += h.nr_pages * k_page_size;
    m_pages_sent += h.nr_pages;
  }
}

} // namespace stasis::store
