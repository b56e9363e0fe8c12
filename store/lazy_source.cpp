#include "store/lazy_source.hpp"

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

// file_chunks() with the list blobs read (and verified) in parallel.
Result<std::vector<ChunkRef>> expand_lists(const BlobIndex& index, const FileRecord& f) {
  std::vector<std::vector<ChunkRef>> parts(f.lists.size());
  std::mutex mutex;
  std::string failure;
  parallel_for(
      f.lists.size(),
      [&](std::size_t begin, std::size_t end) {
        std::vector<std::uint8_t> blob;
        for (std::size_t i = begin; i < end; ++i) {
          auto read = index.read(f.lists[i], blob);
          if (read) {
            read = decode_chunk_list(blob, parts[i]);
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
    return make_error("chunk list of {}: {}", f.name, failure);
  }
  std::vector<ChunkRef> out;
  std::uint64_t total = 0;
  for (auto& part : parts) {
    for (const auto& r : part) {
      total += r.size;
    }
    out.insert(out.end(), part.begin(), part.end());
  }
  if (total != f.size) {
    return make_error("chunks of {} add up to {} bytes, manifest says {}", f.name, total,
                      f.size);
  }
  return out;
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

Result<void> write_new_file(const fs::path& path, std::span<const std::uint8_t> data) {
  util::UniqueFd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
  if (!fd) {
    return make_error("cannot create {}: {}", path.string(), errno_text());
  }
  return write_all(fd.get(), data, path);
}

} // namespace

Result<std::unique_ptr<LazySource>>
LazySource::open(const Store& store, const std::string& job, std::uint64_t id) {
  if (!valid_job_name(job)) {
    return make_error("invalid job name '{}'", job);
  }
  auto held = STASIS_TRY(FileLock::acquire(store.root() / "store.lock", false));
  std::unique_ptr<LazySource> src(new LazySource());
  src->m_manifest = STASIS_TRY(Catalog(store.root() / "jobs").load(job, id));
  const auto packs = store.root() / "packs";
  // Only this checkpoint's blobs are looked up: the store's full BlobIndex
  // (every blob of every checkpoint) costs far more to build.
  auto all = STASIS_TRY(LazySourceIndex::load(packs));
  std::vector<Hash> lists;
  for (const auto& f : src->m_manifest.files) {
    for (const auto& h : f.lists) {
      if (!all.find(h)) {
        return make_error("checkpoint {}/{} is damaged; cannot restore it lazily ({}: "
                          "chunk list {} is missing from the store)",
                          job, id, f.name, to_hex(h));
      }
      lists.push_back(h);
    }
  }
  auto list_index = STASIS_TRY(all.subset(packs, lists));
  // Every chunk must be present before a process depends on it; the chunk
  // refs and locations of the pages images are kept for the page maps below.
  std::map<std::string, std::vector<ChunkRef>> file_refs;
  std::map<std::string, std::vector<BlobLocation>> file_locs;
  for (const auto& f : src->m_manifest.files) {
    auto refs = expand_lists(list_index, f);
    if (!refs) {
      return make_error("checkpoint {}/{} is damaged; cannot restore it lazily ({})", job,
                        id, refs.error().message);
    }
    std::vector<BlobLocation> locs(refs->size());
    std::atomic<std::size_t> missing{refs->size()};
    parallel_for(
        refs->size(),
        [&](std::size_t begin, std::size_t end) {
          for (std::size_t i = begin; i < end; ++i) {
            const auto& r = (*refs)[i];
            if (r.hash.is_zero()) {
              continue;
            }
            if (auto loc = all.find(r.hash)) {
              locs[i] = *loc;
            } else {
              auto expected = missing.load();
              while (i < expected && !missing.compare_exchange_weak(expected, i)) {
              }
            }
          }
        },
        4096);
    if (missing < refs->size()) {
      return make_error("checkpoint {}/{} is damaged; cannot restore it lazily ({}: "
                        "chunk {} is missing from the store)",
                        job, id, f.name, to_hex((*refs)[missing].hash));
    }
    file_refs.emplace(f.name, std::move(*refs));
    file_locs.emplace(f.name, std::move(locs));
  }
  auto chunks_of = [&](auto&& wanted) {
    std::vector<Hash> hashes = lists;
    for (const auto& f : src->m_manifest.files) {
      if (wanted(f)) {
        for (const auto& r : file_refs[f.name]) {
          hashes.push_back(r.hash);
        }
      }
    }
    return hashes;
  };
  auto pagemap_index = STASIS_TRY(all.subset(
      packs, chunks_of([](const FileRecord& f) { return is_pagemap_name(f.name); })));
  const auto& m = src->m_manifest;
  for (const auto& f : m.files) {
    if (!is_pagemap_name(f.name)) {
      continue;
    }
    auto text = STASIS_TRY(read_stored_file(pagemap_index, f));
    auto pm =
        parse_pagemap({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    if (!pm) {
      return make_error("checkpoint {}/{}: {}: {}", job, id, f.name, pm.error().message);
    }
    std::vector<ChunkRef> refs;
    std::vector<BlobLocation> locs;
    if (auto pages = file_refs.find(pm->pages_file()); pages != file_refs.end()) {
      refs = std::move(pages->second);
      locs = std::move(file_locs[pm->pages_file()]);
    }
    if (refs.size() != pm->present_pages()) {
      return make_error("checkpoint {}/{}: {} does not match {}", job, id,
                        pm->pages_file(), f.name);
    }
    auto pid = pagemap_pid(f.name);
    PagesImage image{f.name, "", pm->pages_file(), {}, {}};
    Pagemap rewritten = *pm;
    std::size_t next = 0;
    for (auto& e : rewritten.entries) {
      if (!e.present()) {
        continue;
      }
      auto first = refs.begin() + static_cast<std::ptrdiff_t>(next);
      auto last = first + static_cast<std::ptrdiff_t>(e.nr_pages);
      auto first_loc = locs.begin() + static_cast<std::ptrdiff_t>(next);
      auto last_loc = first_loc + static_cast<std::ptrdiff_t>(e.nr_pages);
      next += e.nr_pages;
      if (pid && (e.flags & k_pe_lazy) != 0) {
        // Runs index the whole pages image's refs (moved below, not copied).
        src->m_processes[*pid].runs.push_back(
            {e.vaddr, e.nr_pages, static_cast<std::size_t>(first - refs.begin())});
        e.flags &= ~k_pe_present;
        src->m_lazy_pages += e.nr_pages;
      } else {
        image.eager.insert(image.eager.end(), first, last);
        image.eager_locs.insert(image.eager_locs.end(), first_loc, last_loc);
      }
    }
    if (auto proc = pid ? src->m_processes.find(*pid) : src->m_processes.end();
        proc != src->m_processes.end()) {
      if (!proc->second.refs.empty()) {
        return make_error("checkpoint {}/{}: two pagemaps of pid {}", job, id, *pid);
      }
      proc->second.refs = std::move(refs);
      proc->second.locs = std::move(locs);
    }
    image.pagemap = ps::encode_criu_pagemap(rewritten);
    src->m_images.push_back(std::move(image));
  }
  for (auto& [pid, proc] : src->m_processes) {
    std::sort(proc.runs.begin(), proc.runs.end(),
              [](const Run& a, const Run& b) { return a.vaddr < b.vaddr; });
  }
  std::set<std::string> page_images;
  for (const auto& image : src->m_images) {
    page_images.insert(image.pages_name);
  }
  src->m_index = STASIS_TRY(all.subset(packs, chunks_of([&](const FileRecord& f) {
                                         return !page_images.contains(f.name);
                                       })));
  log::get("store")->debug("lazy restore of {}/{}: {} pages served on demand", job, id,
                           src->m_lazy_pages);
  return src;
}

Result<void> LazySource::write_images(const fs::path& dir) const {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec) || !fs::is_empty(dir, ec)) {
      return make_error("{} exists and is not an empty directory", dir.string());
    }
  } else {
    STASIS_TRY(ensure_dir(dir));
  }
  std::set<std::string> page_images;
  for (const auto& image : m_images) {
    page_images.insert(image.pagemap_name);
    page_images.insert(image.pages_name);
  }
  Manifest others = m_manifest;
  std::erase_if(others.files,
                [&](const FileRecord& f) { return page_images.contains(f.name); });
  STASIS_TRY(write_checkpoint(m_index, others, dir));
  for (const auto& image : m_images) {
    STASIS_TRY(
        write_new_file(dir / image.pagemap_name,
                       {reinterpret_cast<const std::uint8_t*>(image.pagemap.data()),
                        image.pagemap.size()}));
    std::vector<std::uint8_t> pages(image.eager.size() * k_page_size);
    for (std::size_t i = 0; i < image.eager.size(); ++i) {
      STASIS_TRY(read_page(image.eager[i], image.eager_locs[i],
                           std::span(pages).subspan(i * k_page_size, k_page_size)));
    }
    STASIS_TRY(write_new_file(dir / image.pages_name, pages));
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
  thread_local std::vector<std::uint8_t> stored;
  STASIS_TRY(m_index.read_stored(loc, stored));
  return m_index.decode(ref.hash, loc, stored, out);
}

std::pair<const ChunkRef*, const BlobLocation*>
LazySource::find(std::uint64_t pid, std::uint64_t vaddr) const {
  auto p = m_processes.find(pid);
  if (p == m_processes.end()) {
    return {nullptr, nullptr};
  }
  const auto& runs = p->second.runs;
  auto it = std::upper_bound(runs.begin(), runs.end(), vaddr,
                             [](std::uint64_t v, const Run& r) { return v < r.vaddr; });
  if (it == runs.begin()) {
    return {nullptr, nullptr};
  }
  --it;
  std::uint64_t k = (vaddr - it->vaddr) / k_page_size;
  if (k >= it->nr_pages || (vaddr - it->vaddr) % k_page_size != 0) {
    return {nullptr, nullptr};
  }
  return {&p->second.refs[it->first + k], &p->second.locs[it->first + k]};
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
    std::vector<std::pair<const ChunkRef*, const BlobLocation*>> refs(h.nr_pages);
    for (std::uint64_t k = 0; k < h.nr_pages; ++k) {
      refs[k] = find(h.dst_id, h.vaddr + k * k_page_size);
      if (refs[k].first == nullptr) {
        STASIS_TRY(refuse(h, fmt::format("page {:#x} of pid {} is not a lazy page of "
                                         "checkpoint {}/{}",
                                         h.vaddr + k * k_page_size, h.dst_id,
                                         m_manifest.job, m_manifest.id)));
      }
    }
    reply.resize(ps::k_header_size + h.nr_pages * k_page_size);
    std::copy(raw.begin(), raw.end(), reply.begin());
    std::mutex mutex;
    std::string failure;
    parallel_for(
        refs.size(),
        [&](std::size_t begin, std::size_t end) {
          for (std::size_t k = begin; k < end; ++k) {
            auto read = read_page(*refs[k].first, *refs[k].second,
                                  std::span(reply).subspan(
                                      ps::k_header_size + k * k_page_size, k_page_size));
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
