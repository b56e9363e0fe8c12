#include "remote/bundle_cache.hpp"

#include "store/codec.hpp"
#include "store/fs_util.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

namespace stasis::remote {

BundleCache::BundleCache(Reference ref, const ClientOptions& options, RemoteIndex index,
                         fs::path dir)
    : m_ref(std::move(ref)), m_options(options), m_index(std::move(index)),
      m_where(m_ref.registry + "/" + m_ref.repository), m_dir(std::move(dir)),
      m_by_bundle(m_index.bundles.size()), m_state(m_index.bundles.size(), State::Absent),
      m_files(m_index.bundles.size()), m_range_client(m_ref, options) {
  for (const auto& e : m_index.entries) {
    m_by_bundle[e.bundle].push_back(&e);
  }
  for (auto& entries : m_by_bundle) {
    std::sort(
        entries.begin(), entries.end(),
        [](const IndexEntry* a, const IndexEntry* b) { return a->offset < b->offset; });
  }
}

BundleCache::~BundleCache() {
  cancel();
  m_files.clear();
  std::error_code ignored;
  fs::remove_all(m_dir, ignored);
}

void BundleCache::cancel() {
  std::lock_guard lock(m_mutex);
  m_cancelled = true;
  m_changed.notify_all();
}

bool BundleCache::cached(const store::Hash& hash, std::vector<std::uint8_t>& out) const {
  auto it = m_memory.find(hash);
  if (it == m_memory.end()) {
    return false;
  }
  out = it->second;
  return true;
}

Result<void> BundleCache::read(const store::Hash& hash, const store::BlobLocation& loc,
                               std::span<std::uint8_t> out) {
  if (loc.pack >= m_index.bundles.size()) {
    return make_error("blob {} names no bundle of {}", store::to_hex(hash), m_where);
  }
  const Bundle& bundle = m_index.bundles[loc.pack];
  const IndexEntry* entry = m_index.find(hash);
  if (entry == nullptr || entry->bundle != loc.pack || entry->offset != loc.offset) {
    return make_error("blob {} is not where the index of {} says", store::to_hex(hash),
                      m_where);
  }
  thread_local std::vector<std::uint8_t> stored;
  bool have = false;
  {
    std::unique_lock lock(m_mutex);
    for (;;) {
      if (m_state[loc.pack] == State::Ready) {
        lock.unlock();
        STASIS_TRY(read_downloaded(*entry, stored));
        have = true;
        break;
      }
      if (cached(hash, stored)) {
        have = true;
        break;
      }
      if (m_state[loc.pack] != State::Downloading || !m_failure.empty() || m_cancelled) {
        break;
      }
      m_changed.wait(lock); // the fill brings the whole bundle soon
    }
  }
  if (!have) {
    STASIS_TRY(fetch_range(loc.pack, *entry, stored));
  }
  auto decoded = store::decompress(loc.codec, stored, out);
  if (!decoded || store::sha256(out) != hash) {
    return make_error("blob {} in bundle {} of {} is damaged ({}): refused",
                      store::to_hex(hash), bundle.digest_string(), m_where,
                      decoded ? "content hash mismatch" : decoded.error().message);
  }
  return ok();
}

Result<void> BundleCache::read_downloaded(const IndexEntry& entry,
                                          std::vector<std::uint8_t>& out) {
  int fd = -1;
  {
    std::lock_guard lock(m_mutex);
    fd = m_files[entry.bundle].get();
  }
  out.resize(entry.stored_len);
  return store::pread_exact(fd, out, entry.offset,
                            m_dir / m_index.bundles[entry.bundle].digest_string());
}

Result<void> BundleCache::fetch_range(std::uint32_t b, const IndexEntry& e,
                                      std::vector<std::uint8_t>& out) {
  std::lock_guard range_lock(m_range_mutex);
  {
    std::lock_guard lock(m_mutex);
    if (cached(e.hash, out)) { // another reader fetched it meanwhile
      return ok();
    }
  }
  // The window: e and the blobs after it that fit in k_lazy_range_bytes.
  const auto& entries = m_by_bundle[b];
  auto first = std::lower_bound(
      entries.begin(), entries.end(), e.offset,
      [](const IndexEntry* x, std::uint64_t offset) { return x->offset < offset; });
  auto last = first;
  std::uint64_t end = e.offset;
  while (last != entries.end() &&
         ((*last)->offset + (*last)->stored_len - e.offset <= k_lazy_range_bytes ||
          last == first)) {
    end = std::max(end, (*last)->offset + (*last)->stored_len);
    ++last;
  }
  const Bundle& bundle = m_index.bundles[b];
  auto data =
      m_range_client.get_blob_range(bundle.digest_string(), e.offset, end - e.offset);
  if (!data) {
    return make_error("bundle {} of {}: {}", bundle.digest_string(), m_where,
                      data.error().message);
  }
  m_bytes += data->size();
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(data->data());
  out.assign(bytes, bytes + e.stored_len);
  std::lock_guard lock(m_mutex);
  for (auto it = first; it != last; ++it) {
    const IndexEntry& x = **it;
    if (x.offset < e.offset || m_memory.contains(x.hash)) {
      continue;
    }
    const auto* at = bytes + (x.offset - e.offset);
    m_memory.emplace(x.hash, std::vector<std::uint8_t>(at, at + x.stored_len));
    m_memory_order.push_back(x.hash);
    m_memory_bytes += x.stored_len;
  }
  while (m_memory_bytes > k_lazy_memory_cache_bytes && !m_memory_order.empty()) {
    auto old = m_memory.find(m_memory_order.front());
    m_memory_bytes -= old->second.size();
    m_memory.erase(old);
    m_memory_order.pop_front();
  }
  return ok();
}

Result<void> BundleCache::download(RegistryClient& client, std::uint32_t b) {
  const Bundle& bundle = m_index.bundles[b];
  const auto name = bundle.digest_string();
  auto data = client.get_blob(name, bundle.size); // digest checked
  if (!data) {
    return make_error("bundle {} of {}: {}", name, m_where, data.error().message);
  }
  if (data->size() != bundle.size) {
    return make_error("bundle {} of {} has {} bytes, not {}", name, m_where, data->size(),
                      bundle.size);
  }
  m_bytes += data->size();
  const auto path = m_dir / name;
  util::UniqueFd fd{::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (!fd) {
    return make_error("cannot create {}: {}", path.string(), store::errno_text());
  }
  STASIS_TRY(store::write_all(fd.get(), *data, path));
  std::lock_guard lock(m_mutex);
  m_files[b] = std::move(fd);
  m_state[b] = State::Ready;
  m_changed.notify_all();
  return ok();
}

Result<void> BundleCache::download_worker(std::deque<std::uint32_t>& queue) {
  RegistryClient client(m_ref, m_options);
  for (;;) {
    std::uint32_t b = 0;
    {
      std::lock_guard lock(m_mutex);
      if (queue.empty() || m_cancelled || !m_failure.empty()) {
        if (m_cancelled) {
          return make_error("the download from {} was cancelled", m_where);
        }
        return ok();
      }
      b = queue.front();
      queue.pop_front();
      m_state[b] = State::Downloading;
    }
    if (auto done = download(client, b); !done) {
      std::lock_guard lock(m_mutex);
      m_state[b] = State::Absent;
      if (m_failure.empty()) {
        m_failure = done.error().message;
      }
      m_changed.notify_all();
      return done;
    }
  }
}

Result<void> BundleCache::download_all(const std::vector<std::uint32_t>& first) {
  STASIS_TRY(store::ensure_dir(m_dir, 0700));
  std::deque<std::uint32_t> queue;
  std::vector<bool> queued(m_index.bundles.size(), false);
  for (auto b : first) {
    if (b < queued.size() && !queued[b]) {
      queued[b] = true;
      queue.push_back(b);
    }
  }
  for (std::uint32_t b = 0; b < queued.size(); ++b) {
    if (!queued[b]) {
      queue.push_back(b);
    }
  }
  std::vector<Result<void>> results(k_fill_connections, ok());
  {
    std::vector<std::jthread> workers;
    for (unsigned i = 0; i < k_fill_connections; ++i) {
      workers.emplace_back([&, i] { results[i] = download_worker(queue); });
    }
  }
  std::lock_guard lock(m_mutex);
  if (!m_failure.empty()) {
    return make_error("{}", m_failure);
  }
  for (auto& r : results) {
    STASIS_TRY(std::move(r));
  }
  return ok();
}

} // namespace stasis::remote
