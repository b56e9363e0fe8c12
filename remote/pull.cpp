// Pulling a checkpoint: manifest by tag, config, index, then only the bundle
// slices holding blobs the local store lacks; the store checks every blob
// and commits nothing unless all checked out. Also listing and deleting.
#include "remote/container_image.hpp"
#include "remote/format.hpp"
#include "remote/registry_client.hpp"
#include "store/transfer.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>

namespace stasis::remote {
namespace {

using store::Hash;

// Two needed slices of a bundle closer than this are fetched in one range.
constexpr std::uint64_t k_range_gap_bytes = 256 << 10;
// Largest range asked for at once.
constexpr std::uint64_t k_max_range_bytes = 16 << 20;

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Blobs from the bundles of one checkpoint in a repository.
class RegistrySource : public store::BlobSource {
public:
  RegistrySource(RegistryClient& client, const RemoteIndex& index,
                 std::function<void(std::uint64_t, std::uint64_t)> progress)
      : m_client(client), m_index(index), m_progress(std::move(progress)) {}

  Result<void> fetch(const std::vector<Hash>& hashes, const Put& put) override {
    std::map<std::uint32_t, std::vector<const IndexEntry*>> by_bundle;
    for (const auto& h : hashes) {
      const IndexEntry* e = m_index.find(h);
      if (e == nullptr) {
        return make_error("the index of {} has no blob {}", m_client.where(),
                          store::to_hex(h));
      }
      by_bundle[e->bundle].push_back(e);
      m_wanted += e->stored_len;
    }
    report();
    for (auto& [number, entries] : by_bundle) {
      const Bundle& bundle = m_index.bundles[number];
      auto fetched = fetch_bundle(bundle, entries, put);
      if (!fetched) {
        return make_error("bundle {} of {}: {}", bundle.digest_string(), m_client.where(),
                          fetched.error().message);
      }
    }
    return ok();
  }

  std::uint64_t blobs() const { return m_blobs; }
  std::uint64_t bytes_downloaded() const { return m_bytes; }

private:
  Result<void> fetch_bundle(const Bundle& bundle, std::vector<const IndexEntry*>& entries,
                            const Put& put) {
    std::sort(
        entries.begin(), entries.end(),
        [](const IndexEntry* a, const IndexEntry* b) { return a->offset < b->offset; });
    std::uint64_t needed = 0;
    for (const auto* e : entries) {
      needed += e->stored_len;
    }
    const auto digest = bundle.digest_string();
    if (needed * 2 >= bundle.size) {
      // Most of it: the whole blob, its digest checked.
      auto data = STASIS_TRY(m_client.get_blob(digest, bundle.size));
      ++m_blobs;
      m_bytes += data.size();
      for (const auto* e : entries) {
        STASIS_TRY(put(e->hash, e->codec, e->raw_len,
                       bytes(data).subspan(e->offset, e->stored_len)));
        m_done += e->stored_len;
      }
      report();
      return ok();
    }
    // Ranges around runs of needed slices; every blob is checked by its hash.
    std::size_t i = 0;
    while (i < entries.size()) {
      std::size_t j = i + 1;
      std::uint64_t start = entries[i]->offset;
      std::uint64_t end = start + entries[i]->stored_len;
      while (j < entries.size() && entries[j]->offset <= end + k_range_gap_bytes &&
             entries[j]->offset + entries[j]->stored_len - start <= k_max_range_bytes) {
        end = std::max(end, entries[j]->offset + entries[j]->stored_len);
        ++j;
      }
      auto data = STASIS_TRY(m_client.get_blob_range(digest, start, end - start));
      ++m_blobs;
      m_bytes += data.size();
      for (std::size_t k = i; k < j; ++k) {
        STASIS_TRY(
            put(entries[k]->hash, entries[k]->codec, entries[k]->raw_len,
                bytes(data).subspan(entries[k]->offset - start, entries[k]->stored_len)));
        m_done += entries[k]->stored_len;
      }
      report();
      i = j;
    }
    return ok();
  }

  void report() const {
    if (m_progress) {
      m_progress(m_done, m_wanted);
    }
  }

  RegistryClient& m_client;
  const RemoteIndex& m_index;
  std::function<void(std::uint64_t, std::uint64_t)> m_progress;
  std::uint64_t m_blobs = 0;
  std::uint64_t m_bytes = 0;
  std::uint64_t m_wanted = 0; // stored bytes of the blobs asked for so far
  std::uint64_t m_done = 0;   // of them, received
};

std::optional<std::chrono::sys_seconds> parse_rfc3339(const std::string& text) {
  std::tm tm{};
  if (::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) {
    return std::nullopt;
  }
  return std::chrono::sys_seconds{std::chrono::seconds{::timegm(&tm)}};
}

} // namespace

Result<PullReport> pull_checkpoint(store::Store& store, const Reference& ref,
                                   const std::string& into_job,
                                   const ClientOptions& options,
                                   const store::StoreLimits& limits) {
  if (ref.tag.empty()) {
    return make_error("pulling {} needs a tag (JOB-ORIGIN-ID or JOB-latest)",
                      ref.to_string());
  }
  if (!store::valid_job_name(into_job)) {
    return make_error("invalid job name '{}' to pull into", into_job);
  }
  RegistryClient client(ref, options);
  auto head = STASIS_TRY(fetch_checkpoint_head(client, ref));
  PullReport report;
  report.blobs_downloaded = 2;
  report.bytes_downloaded = head.bytes;
  RegistrySource source(client, head.index, options.progress);
  const auto name = fmt::format("{}@{}", ref.to_string(), head.manifest_digest);
  report.checkpoint =
      STASIS_TRY(store.import_from_source(head.manifest, source, name, into_job, limits));
  report.blobs_downloaded += source.blobs();
  report.bytes_downloaded += source.bytes_downloaded();
  return report;
}

Result<CheckpointHead> fetch_checkpoint_head(RegistryClient& client,
                                             const Reference& ref) {
  auto fetched = STASIS_TRY(client.get_manifest(ref.tag));
  if (!fetched) {
    return make_error("{} has no checkpoint tagged {}", client.where(), ref.tag);
  }
  auto oci = STASIS_TRY(oci_manifest_from_json(fetched->body, ref.to_string()));
  if (oci.config.size > k_max_config_bytes || oci.layers[0].size > k_max_index_bytes) {
    return make_error(
        "{}: its config ({} bytes) or index ({} bytes) is larger than taken "
        "({} and {})",
        ref.to_string(), oci.config.size, oci.layers[0].size, k_max_config_bytes,
        k_max_index_bytes);
  }
  auto config_blob = STASIS_TRY(client.get_blob(oci.config.digest, k_max_config_bytes));
  auto config = STASIS_TRY(config_from_json(config_blob));
  auto manifest = store::manifest_from_json(config.manifest_json);
  if (!manifest) {
    return make_error("{}: its stasis manifest is not valid: {}", ref.to_string(),
                      manifest.error().message);
  }
  auto index_blob = STASIS_TRY(client.get_blob(oci.layers[0].digest, k_max_index_bytes));
  auto index = decode_index(bytes(index_blob));
  if (!index) {
    return make_error("{}: {}", ref.to_string(), index.error().message);
  }
  // Every bundle the index names must be a layer of the manifest, same size
  // (so the registry keeps it as long as the manifest).
  std::map<std::string, std::uint64_t> layers;
  for (std::size_t i = 1; i < oci.layers.size(); ++i) {
    layers[oci.layers[i].digest] = oci.layers[i].size;
  }
  for (const auto& b : index->bundles) {
    auto it = layers.find(b.digest_string());
    if (it == layers.end() || it->second != b.size) {
      return make_error("{}: its index names bundle {}, which is not a layer of its "
                        "manifest (of that size)",
                        ref.to_string(), b.digest_string());
    }
  }
  return CheckpointHead{fetched->digest, std::move(*manifest), std::move(*index),
                        config_blob.size() + index_blob.size() + fetched->body.size()};
}

Result<std::vector<RemoteCheckpoint>> list_checkpoints(const Reference& ref,
                                                       const ClientOptions& options) {
  RegistryClient client(ref, options);
  STASIS_TRY(client.ping());
  std::vector<RemoteCheckpoint> out;
  for (const auto& tag : STASIS_TRY(client.list_tags())) {
    auto parts = parse_checkpoint_tag(tag);
    if (!parts) {
      continue;
    }
    auto fetched = STASIS_TRY(client.get_manifest(tag));
    if (!fetched) {
      continue; // deleted since the listing
    }
    auto oci = oci_manifest_from_json(fetched->body,
                                      ref.registry + "/" + ref.repository + ":" + tag);
    if (!oci) {
      continue; // not a stasis checkpoint
    }
    RemoteCheckpoint c;
    c.tag = tag;
    c.job = parts->job;
    c.origin = parts->origin;
    c.id = parts->id;
    c.manifest_digest = fetched->digest;
    if (auto t = parse_rfc3339(oci->annotations["org.opencontainers.image.created"])) {
      c.created = *t;
    }
    auto logical = oci->annotations["io.stasis.logical-bytes"];
    std::from_chars(logical.data(), logical.data() + logical.size(), c.logical_bytes);
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(),
            [](const RemoteCheckpoint& a, const RemoteCheckpoint& b) {
              return std::tie(a.job, a.created, a.origin, a.id) <
                     std::tie(b.job, b.created, b.origin, b.id);
            });
  return out;
}

Result<void> delete_checkpoint(const Reference& ref, const std::string& tag,
                               const ClientOptions& options) {
  if (!valid_tag(tag)) {
    return make_error("'{}' is not a valid tag", tag);
  }
  RegistryClient client(ref, options);
  auto fetched = STASIS_TRY(client.get_manifest(tag));
  if (!fetched) {
    return make_error("{} has no checkpoint tagged {}", client.where(), tag);
  }
  STASIS_TRY(oci_manifest_from_json(fetched->body, client.where() + ":" + tag));
  STASIS_TRY(client.delete_manifest(fetched->digest));
  // The container image pushed with it (podman jobs) goes too.
  return delete_container_image(ref, tag, options);
}

} // namespace stasis::remote
