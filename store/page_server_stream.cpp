#include "store/page_server_stream.hpp"

#include "store/blob_sink.hpp"
#include "store/ingest.hpp"
#include "store/page_server_batch.hpp"
#include "store/page_server_images.hpp"
#include "store/page_server_socket.hpp"
#include "store/page_server_wire.hpp"
#include "store/parallel.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <sys/socket.h>
#include <thread>
#include <unordered_set>

namespace stasis::store {
namespace ps = page_server;
namespace {

// CRIU's own page server numbers its pages images from 65537 (observed with
// CRIU 4.2.1); stasis does the same so its images match CRIU's byte for byte.
constexpr std::uint32_t k_first_pages_id = 65537;
// Largest run one ADD may announce (16 GiB); more is taken as garbage.
constexpr std::uint64_t k_max_pages_per_message = 1ULL << 22;
// Pages read from the socket at a time: between reads a failure of the
// worker storing the previous batch (a full disk) is noticed.
constexpr std::uint64_t k_pages_per_read = 256;

} // namespace

struct StreamingCheckpoint::State {
  fs::path root;
  std::string job;
  StoreLimits limits;
  std::atomic<bool> worker_failed{false};
  bool connection_failed = false; // CRIU's end closed or broke (or stop)
  std::string failure;
  FileLock lock;
  std::shared_ptr<BlobIndex> index; // the store's kept index
  std::unique_ptr<BlobSink> sink;
  std::uint64_t id = 0;
  std::optional<std::uint64_t> previous;
  std::map<std::uint64_t, StreamedImage> dests;
  std::uint32_t next_pages_id = k_first_pages_id;
  std::atomic<std::uint64_t> pages{0}; // read by pages_received() from any thread
  bool committed = false;
  PageBatch batches[2];
  int filling = 0;
  std::thread worker;

  PageBatch& current() { return batches[filling]; }

  // Waits for the batch being stored and files its chunk refs.
  Result<void> join() {
    if (!worker.joinable()) {
      return ok();
    }
    worker.join();
    PageBatch& done = batches[1 - filling];
    for (std::size_t i = 0; i < done.count; ++i) {
      auto [dest, slot] = done.slots[i];
      dest->refs[slot] = done.refs[i];
    }
    done.count = 0;
    done.slots.clear();
    return std::exchange(done.result, ok());
  }

  // Hands the filled batch to the worker and starts filling the other one.
  Result<void> hand_off() {
    STASIS_TRY(join());
    if (current().count == 0) {
      return ok();
    }
    PageBatch& full = current();
    filling = 1 - filling;
    worker = std::thread([this, &full] { store_batch(*sink, full, worker_failed); });
    return ok();
  }

  Result<void> receive_pages(int fd, StreamedImage& dest, const ps::Header& h,
                             const std::stop_token& stop) {
    if (h.nr_pages > limits.max_logical_bytes / k_page_size - pages) {
      return make_error("the streamed checkpoint of job {} is larger than the {} bytes "
                        "it may have",
                        job, limits.max_logical_bytes);
    }
    for (std::uint64_t done = 0; done < h.nr_pages;) {
      if (worker_failed) {
        return join(); // the stored batch's error, at once
      }
      PageBatch& b = current();
      auto n = std::min({h.nr_pages - done, k_batch_pages - b.count, k_pages_per_read});
      auto read = ps::read_full(fd, {b.page(b.count), n * k_page_size}, false, stop);
      if (!read) {
        connection_failed = true;
        return Unexpected(std::move(read).error());
      }
      for (std::uint64_t k = 0; k < n; ++k) {
        b.slots.emplace_back(&dest, dest.refs.size());
        dest.refs.emplace_back();
        dest.vaddrs.push_back(h.vaddr + (done + k) * k_page_size);
      }
      b.count += n;
      done += n;
      pages += n;
      if (b.count == k_batch_pages) {
        STASIS_TRY(hand_off());
      }
    }
    return ok();
  }
};

namespace {

Result<void> refuse(const ps::Header& h, const std::string& why) {
  auto message =
      fmt::format("page server: refusing {} (nr_pages {}, vaddr {:#x}, dst_id "
                  "{:#x}) from CRIU: {}; closing the connection",
                  ps::command_name(h.command()), h.nr_pages, h.vaddr, h.dst_id, why);
  log::get("store")->error("{}", message);
  return make_error("{}", message);
}

} // namespace

StreamingCheckpoint::StreamingCheckpoint(std::unique_ptr<State> state)
    : m_state(std::move(state)) {}

StreamingCheckpoint::~StreamingCheckpoint() {
  if (m_state->worker.joinable()) {
    m_state->worker.join();
  }
  if (!m_state->committed) {
    m_state->sink->rollback();
  }
}

std::uint64_t StreamingCheckpoint::pages_received() const {
  return m_state->pages;
}
std::uint64_t StreamingCheckpoint::id() const {
  return m_state->id;
}

Result<std::unique_ptr<StreamingCheckpoint>>
StreamingCheckpoint::begin(const Store& store, const std::string& job,
                           const StoreLimits& limits) {
  if (!valid_job_name(job)) {
    return make_error("invalid job name '{}'", job);
  }
  auto state = std::make_unique<State>();
  state->root = store.root();
  state->job = job;
  state->limits = limits;
  state->lock = STASIS_TRY(FileLock::acquire(store.root() / "store.lock", true));
  std::vector<std::string> problems;
  state->index = STASIS_TRY(store.load_index(problems));
  Catalog catalog(store.root() / "jobs");
  auto ids = STASIS_TRY(catalog.ids(job));
  if (!ids.empty()) {
    state->previous = ids.back();
  }
  state->id = STASIS_TRY(catalog.next_id(job));
  state->sink = std::make_unique<BlobSink>(*state->index, store.root() / "packs");
  state->sink->set_limit(limits.max_new_bytes);
  return std::unique_ptr<StreamingCheckpoint>(new StreamingCheckpoint(std::move(state)));
}

const std::string& StreamingCheckpoint::failure() const {
  return m_state->failure;
}

Result<void> StreamingCheckpoint::receive(int fd, const std::stop_token& stop) {
  auto received = receive_stream(fd, stop);
  if (!received && !m_state->connection_failed) {
    m_state->failure = received.error().message;
  }
  if (!received) {
    // CRIU's next write (or read) fails: the dump ends now instead of
    // blocking on a socket nobody reads, with the target frozen.
    ::shutdown(fd, SHUT_RDWR);
  }
  return received;
}

Result<void> StreamingCheckpoint::receive_stream(int fd, const std::stop_token& stop) {
  auto& s = *m_state;
  auto logger = log::get("store");
  std::array<std::uint8_t, ps::k_header_size> raw{};
  for (;;) {
    auto more = ps::read_full(fd, raw, true, stop);
    if (!more || !*more) {
      s.connection_failed = true;
    }
    if (!more) {
      logger->error("page server: {}", more.error().message);
      return Unexpected(std::move(more).error());
    }
    if (!*more) {
      return make_error("CRIU closed the page server connection without CLOSE (did the "
                        "dump fail? see its log)");
    }
    if (s.worker_failed) {
      return s.join();
    }
    auto h = ps::decode_header(raw);
    switch (h.command()) {
    case ps::k_open:
    case ps::k_open2: {
      auto name = ps::pagemap_name(h.type(), h.image_id());
      if (name.empty()) {
        return refuse(h, fmt::format("unknown destination type {}", h.type()));
      }
      if (s.dests.contains(h.dst_id)) {
        return refuse(h, name + " was opened twice");
      }
      StreamedImage dest;
      dest.name = name;
      dest.pagemap.pages_id = s.next_pages_id++;
      s.dests.emplace(h.dst_id, std::move(dest));
      logger->debug("page server: receiving {}", name);
      if (h.command() == ps::k_open2) {
        const std::uint8_t no_parent = 0; // checkpoints are self-contained
        STASIS_TRY(ps::send_full(fd, {&no_parent, 1}));
      }
      break;
    }
    case ps::k_add:
    case ps::k_add_f:
    case ps::k_hole: {
      auto it = s.dests.find(h.dst_id);
      if (it == s.dests.end()) {
        return refuse(h, "the destination was not opened");
      }
      std::uint32_t flags = h.flags();
      if (h.command() == ps::k_add && flags == 0) {
        flags = k_pe_present;
      } else if (h.command() == ps::k_hole && flags == 0) {
        flags = k_pe_parent;
      }
      if (h.nr_pages == 0 || h.nr_pages > k_max_pages_per_message) {
        return refuse(h, "bad page count");
      }
      if ((flags & k_pe_parent) != 0) {
        return refuse(h, "pages in a parent image (stasis answered that it has none)");
      }
      bool data = h.command() != ps::k_hole;
      if (data != ((flags & k_pe_present) != 0)) {
        return refuse(h, fmt::format("flags {:#x} do not match the command", flags));
      }
      it->second.pagemap.entries.push_back({h.vaddr, h.nr_pages, flags});
      if (data) {
        auto received = s.receive_pages(fd, it->second, h, stop);
        if (!received) {
          logger->error("page server: {}", received.error().message);
          return received;
        }
      }
      break;
    }
    case ps::k_close:
    case ps::k_force_close: {
      STASIS_TRY(s.hand_off());
      STASIS_TRY(s.join());
      const std::uint32_t status = 0;
      STASIS_TRY(ps::send_full(fd, {reinterpret_cast<const std::uint8_t*>(&status), 4}));
      logger->debug("page server: dump stream of {} pages done", s.pages);
      return ok();
    }
    case ps::k_get:
      return refuse(h, "GET on a dump connection (this server receives a dump)");
    case ps::k_parent:
      return refuse(h, "parent images are not offered (checkpoints are self-contained)");
    default:
      return refuse(h, "unknown command");
    }
  }
}

Result<CheckpointSummary> StreamingCheckpoint::commit(const fs::path& images_dir,
                                                      const IngestInfo& info) {
  auto& s = *m_state;
  if (s.committed) {
    return make_error("checkpoint {}/{} is already committed", s.job, s.id);
  }
  STASIS_TRY(s.join());
  if (s.dests.empty()) {
    return make_error("no pages were streamed for job {} (CRIU did not use the page "
                      "server)",
                      s.job);
  }
  for (const auto& [dst, dest] : s.dests) {
    std::error_code ec;
    if (fs::exists(images_dir / dest.name, ec)) {
      return make_error("{} holds {} although its pages were streamed",
                        images_dir.string(), dest.name);
    }
  }
  auto manifest = STASIS_TRY(
      build_checkpoint(*s.sink, *s.index, s.job, s.id, images_dir, info, nullptr));
  manifest.previous = s.previous;
  for (const auto& [dst, dest] : s.dests) {
    auto pagemap = ps::encode_criu_pagemap(dest.pagemap);
    std::span<const std::uint8_t> bytes{
        reinterpret_cast<const std::uint8_t*>(pagemap.data()), pagemap.size()};
    FileRecord pm{dest.name, 0644, pagemap.size(),
                  STASIS_TRY(ps::store_small_file(*s.sink, bytes))};
    FileRecord pages{dest.pagemap.pages_file(), 0644, dest.refs.size() * k_page_size,
                     STASIS_TRY(ps::store_page_lists(*s.sink, dest.refs, dest.vaddrs))};
    manifest.logical_bytes += pm.size + pages.size;
    manifest.files.push_back(std::move(pm));
    manifest.files.push_back(std::move(pages));
  }
  std::sort(manifest.files.begin(), manifest.files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  manifest.stored_bytes = s.sink->stored_bytes();
  STASIS_TRY(s.sink->flush());
  Catalog catalog(s.root / "jobs");
  STASIS_TRY(catalog.commit(manifest));
  s.sink->release();
  s.committed = true;
  log::get("store")->info("stored streamed checkpoint {}/{}: {} pages, {} new bytes",
                          s.job, s.id, s.pages, manifest.stored_bytes);
  CheckpointSummary summary;
  summary.job = manifest.job;
  summary.id = manifest.id;
  summary.previous = manifest.previous;
  summary.created = manifest.created;
  summary.logical_bytes = manifest.logical_bytes;
  summary.stored_bytes = manifest.stored_bytes;
  summary.files = manifest.files.size();
  summary.policy_fingerprint = manifest.policy_fingerprint;
  summary.criu_version = manifest.criu_version;
  summary.stats = manifest.stats;
  return summary;
}

} // namespace stasis::store
