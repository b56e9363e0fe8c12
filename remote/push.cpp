// Pushing a checkpoint: bundles the repository lacks, then the index and the
// config, then the manifest by tag JOB-ORIGIN-ID, then JOB-latest (restic's
// order: nothing a manifest names is missing when the manifest appears).
#include "remote/format.hpp"
#include "remote/registry_client.hpp"
#include "store/blob_index.hpp"
#include "store/reader.hpp"
#include "util/log.hpp"

#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

namespace stasis::remote {
namespace {

using store::Hash;

auto logger() {
  return log::get("remote");
}

// A new bundle written to the staging dir.
struct StagedBundle {
  Bundle bundle;
  fs::path file;
};

// Blobs the repository already holds, from the indexes of earlier pushes,
// in bundles that are still there.
struct Base {
  std::unordered_map<Hash, IndexEntry, store::HashHasher> entries;
  std::vector<Bundle> bundles;
};

Result<std::optional<RemoteIndex>> read_index(RegistryClient& client,
                                              const std::string& tag) {
  auto fetched = STASIS_TRY(client.get_manifest(tag));
  if (!fetched) {
    return std::optional<RemoteIndex>{};
  }
  auto m = STASIS_TRY(oci_manifest_from_json(fetched->body, client.where() + ":" + tag));
  if (m.layers[0].size > k_max_index_bytes) {
    return make_error("the index of {}:{} has {} bytes; at most {}", client.where(), tag,
                      m.layers[0].size, k_max_index_bytes);
  }
  auto blob = STASIS_TRY(client.get_blob(m.layers[0].digest, k_max_index_bytes));
  auto index = STASIS_TRY(
      decode_index({reinterpret_cast<const std::uint8_t*>(blob.data()), blob.size()}));
  return std::optional<RemoteIndex>{std::move(index)};
}

// Reads the indexes of JOB-latest and of this origin's newest push of the
// job; keeps the bundles the repository still has (HEAD, same size). A
// damaged or unreadable earlier push only costs deduplication.
Result<Base> load_base(RegistryClient& client, const std::string& job,
                       const std::string& origin, std::uint64_t id) {
  std::vector<std::string> tags{latest_tag(job)};
  std::optional<std::uint64_t> newest;
  for (const auto& tag : STASIS_TRY(client.list_tags())) {
    auto parts = parse_checkpoint_tag(tag);
    if (parts && parts->job == job && parts->origin == origin && parts->id != id &&
        (!newest || parts->id > *newest)) {
      newest = parts->id;
    }
  }
  if (newest) {
    tags.push_back(checkpoint_tag(job, origin, *newest));
  }
  Base base;
  std::unordered_map<Hash, std::uint32_t, store::HashHasher> bundle_numbers;
  for (const auto& tag : tags) {
    auto index = read_index(client, tag);
    if (!index) {
      logger()->warn("push: not deduplicating against {}:{}: {}", client.where(), tag,
                     index.error().message);
      continue;
    }
    if (!*index) {
      continue;
    }
    std::vector<std::optional<std::uint32_t>> renumber;
    for (const auto& b : (*index)->bundles) {
      auto known = bundle_numbers.find(b.digest);
      if (known != bundle_numbers.end()) {
        renumber.push_back(known->second);
        continue;
      }
      auto size = STASIS_TRY(client.blob_size(b.digest_string()));
      if (!size || *size != b.size) {
        renumber.push_back(std::nullopt);
        continue;
      }
      auto n = static_cast<std::uint32_t>(base.bundles.size());
      bundle_numbers.emplace(b.digest, n);
      base.bundles.push_back(b);
      renumber.push_back(n);
    }
    for (auto e : (*index)->entries) {
      if (renumber[e.bundle]) {
        e.bundle = *renumber[e.bundle];
        base.entries.emplace(e.hash, e);
      }
    }
  }
  return base;
}

// Removes staging dirs of pushes whose process is gone (a killed push).
void clean_stale_staging(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto name = entry.path().filename().string();
    if (!name.starts_with("push-")) {
      continue;
    }
    auto pid = std::atol(name.c_str() + 5);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      fs::remove_all(entry.path(), ec);
    }
  }
}

// A staging dir, removed with everything in it when the push ends.
class StagingDir {
public:
  static Result<StagingDir> create(const fs::path& store_root) {
    auto parent = store_root / "remote";
    if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) {
      return make_error("cannot create {}: {}", parent.string(), std::strerror(errno));
    }
    clean_stale_staging(parent);
    std::string templ = (parent / fmt::format("push-{}-XXXXXX", ::getpid())).string();
    if (::mkdtemp(templ.data()) == nullptr) {
      return make_error("cannot create a staging dir in {}: {}", parent.string(),
                        std::strerror(errno));
    }
    return StagingDir(templ);
  }
  StagingDir(StagingDir&& o) noexcept : m_path(std::exchange(o.m_path, {})) {}
  ~StagingDir() {
    if (!m_path.empty()) {
      std::error_code ec;
      fs::remove_all(m_path, ec);
    }
  }
  const fs::path& path() const { return m_path; }

private:
  explicit StagingDir(fs::path p) : m_path(std::move(p)) {}
  fs::path m_path;
};

// Writes new bundles of at most about k_bundle_target_bytes.
class BundleWriter {
public:
  BundleWriter(fs::path dir, RemoteIndex& index, std::uint32_t first_number)
      : m_dir(std::move(dir)), m_index(index), m_next(first_number) {}

  Result<void> add(const Hash& hash, const store::BlobLocation& loc,
                   std::span<const std::uint8_t> stored) {
    if (!m_out.is_open()) {
      m_file = m_dir / fmt::format("bundle-{}", m_staged.size());
      m_out.open(m_file, std::ios::binary | std::ios::trunc);
      if (!m_out) {
        return make_error("cannot write {}", m_file.string());
      }
      m_size = 0;
      m_hash.emplace();
    }
    m_out.write(reinterpret_cast<const char*>(stored.data()),
                static_cast<std::streamsize>(stored.size()));
    m_hash->update(stored);
    m_index.entries.push_back({hash, m_next, loc.codec, m_size,
                               static_cast<std::uint32_t>(stored.size()), loc.raw_len});
    m_size += stored.size();
    if (m_size >= k_bundle_target_bytes) {
      return seal();
    }
    return ok();
  }

  Result<void> seal() {
    if (!m_out.is_open()) {
      return ok();
    }
    m_out.close();
    if (!m_out) {
      return make_error("cannot write {}", m_file.string());
    }
    Bundle b{m_hash->finish(), m_size};
    m_index.bundles.push_back(b);
    m_staged.push_back({b, m_file});
    ++m_next;
    return ok();
  }

  std::vector<StagedBundle>& staged() { return m_staged; }

private:
  fs::path m_dir;
  RemoteIndex& m_index;
  std::uint32_t m_next;
  std::ofstream m_out;
  fs::path m_file;
  std::uint64_t m_size = 0;
  std::optional<store::Sha256Stream> m_hash;
  std::vector<StagedBundle> m_staged;
};

// The checkpoint's blobs: chunk lists first, then chunks, each once.
Result<void> blob_order(const store::Manifest& m, const store::BlobIndex& blobs,
                        std::vector<Hash>& lists, std::vector<Hash>& chunks) {
  std::unordered_set<Hash, store::HashHasher> seen;
  for (const auto& f : m.files) {
    for (const auto& list : f.lists) {
      if (seen.insert(list).second) {
        lists.push_back(list);
      }
    }
    auto refs = STASIS_TRY(store::file_chunks(blobs, f));
    for (const auto& r : refs) {
      if (!r.hash.is_zero() && seen.insert(r.hash).second) {
        chunks.push_back(r.hash);
      }
    }
  }
  return ok();
}

// Called under the store's shared lock: the blobs in base are referenced
// where they are, the rest copied (checked) into new bundles.
Result<void> stage_blobs(const store::Manifest& m, const store::BlobIndex& blobs,
                         const Base& base, RemoteIndex& index, BundleWriter& writer) {
  std::vector<Hash> lists, chunks;
  STASIS_TRY(blob_order(m, blobs, lists, chunks));
  std::vector<std::uint8_t> stored, raw;
  for (const auto* group : {&lists, &chunks}) {
    for (const auto& hash : *group) {
      if (auto it = base.entries.find(hash); it != base.entries.end()) {
        index.entries.push_back(it->second);
        continue;
      }
      const store::BlobLocation* loc = blobs.find(hash);
      if (loc == nullptr) {
        return make_error("checkpoint {}/{} is damaged: blob {} is missing", m.job, m.id,
                          store::to_hex(hash));
      }
      STASIS_TRY(blobs.read_stored(*loc, stored));
      raw.resize(loc->raw_len);
      STASIS_TRY(blobs.decode(hash, *loc, stored, raw));
      STASIS_TRY(writer.add(hash, *loc, stored));
    }
    // Chunk lists get bundles of their own: a pull reads them first.
    STASIS_TRY(writer.seal());
  }
  return ok();
}

// Drops bundles no entry uses and renumbers the rest.
void compact(RemoteIndex& index) {
  std::vector<std::optional<std::uint32_t>> renumber(index.bundles.size());
  std::vector<Bundle> used;
  for (auto& e : index.entries) {
    auto& n = renumber[e.bundle];
    if (!n) {
      n = static_cast<std::uint32_t>(used.size());
      used.push_back(index.bundles[e.bundle]);
    }
    e.bundle = *n;
  }
  index.bundles = std::move(used);
}

Result<std::string> read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return make_error("cannot read {}", file.string());
  }
  return data;
}

std::span<const std::uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Uploads a blob unless the repository has it.
Result<void> upload(RegistryClient& client, const std::string& digest,
                    std::span<const std::uint8_t> data, PushReport& report) {
  auto size = STASIS_TRY(client.blob_size(digest));
  if (size && *size == data.size()) {
    ++report.blobs_present;
    report.bytes_present += data.size();
    return ok();
  }
  STASIS_TRY(client.upload_blob(digest, data));
  ++report.blobs_uploaded;
  report.bytes_uploaded += data.size();
  return ok();
}

std::string rfc3339(std::chrono::sys_seconds t) {
  std::time_t time = t.time_since_epoch().count();
  std::tm tm{};
  ::gmtime_r(&time, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

} // namespace

Result<PushReport> push_checkpoint(const store::Store& store, const std::string& job,
                                   std::uint64_t id, const Reference& ref,
                                   const ClientOptions& options,
                                   const std::string& origin_in) {
  const std::string origin = origin_in.empty() ? default_origin() : origin_in;
  if (!valid_origin(origin)) {
    return make_error("origin '{}' is not valid ([A-Za-z0-9_.], 1 to {} characters)",
                      origin, k_max_origin_length);
  }
  const auto tag = checkpoint_tag(job, origin, id);
  if (!valid_tag(tag) || !valid_tag(latest_tag(job))) {
    return make_error("job '{}' cannot be pushed: its tag '{}' is not a valid OCI tag "
                      "([A-Za-z0-9_][A-Za-z0-9._-], at most {} characters)",
                      job, tag, k_max_tag_length);
  }
  auto summary = STASIS_TRY(store.summary(job, id));
  RegistryClient client(ref, options);
  STASIS_TRY(client.ping());
  auto base = STASIS_TRY(load_base(client, job, origin, id));
  auto staging = STASIS_TRY(StagingDir::create(store.root()));
  RemoteIndex index;
  // Base bundles keep their numbers; new ones follow.
  index.bundles = base.bundles;
  BundleWriter writer(staging.path(), index,
                      static_cast<std::uint32_t>(base.bundles.size()));
  std::string manifest_json;
  auto staged = store.read_checkpoint(
      job, id, [&](const store::Manifest& m, const store::BlobIndex& blobs) {
        manifest_json = store::manifest_to_json(m);
        return stage_blobs(m, blobs, base, index, writer);
      });
  if (!staged) {
    return make_error("cannot push {}/{}: {}", job, id, staged.error().message);
  }
  compact(index);
  if (index.bundles.size() > k_max_bundles) {
    return make_error("checkpoint {}/{} needs {} bundles; at most {}", job, id,
                      index.bundles.size(), k_max_bundles);
  }
  PushReport report;
  std::uint64_t total = 0;
  for (const auto& bundle : writer.staged()) {
    total += bundle.bundle.size;
  }
  std::uint64_t done = 0;
  auto progress = [&] {
    if (options.progress) {
      options.progress(done, total);
    }
  };
  progress();
  // 1. Bundles (base ones were checked by HEAD in load_base).
  for (const auto& bundle : writer.staged()) {
    auto data = STASIS_TRY(read_file(bundle.file));
    STASIS_TRY(upload(client, bundle.bundle.digest_string(), bytes(data), report));
    std::error_code ec;
    fs::remove(bundle.file, ec);
    done += data.size();
    progress();
  }
  // 2. The index and the config.
  OciManifest oci;
  auto index_blob = encode_index(index);
  oci.layers.push_back(
      {std::string(k_index_type), digest_of(index_blob), index_blob.size()});
  STASIS_TRY(upload(client, oci.layers[0].digest, index_blob, report));
  for (const auto& b : index.bundles) {
    oci.layers.push_back({std::string(k_bundle_type), b.digest_string(), b.size});
  }
  auto config = config_to_json(manifest_json, origin);
  oci.config = {std::string(k_checkpoint_type), digest_of(config), config.size()};
  STASIS_TRY(upload(client, oci.config.digest, bytes(config), report));
  // 3. The manifest under its own tag, then the moving one.
  oci.annotations = {{"org.opencontainers.image.created", rfc3339(summary.created)},
                     {"io.stasis.job", job},
                     {"io.stasis.id", std::to_string(id)},
                     {"io.stasis.origin", origin},
                     {"io.stasis.logical-bytes", std::to_string(summary.logical_bytes)}};
  auto body = oci_manifest_to_json(oci);
  report.manifest_digest = STASIS_TRY(client.put_manifest(tag, body));
  report.bytes_uploaded += body.size();
  report.tags.push_back(tag);
  STASIS_TRY(client.put_manifest(latest_tag(job), body));
  report.tags.push_back(latest_tag(job));
  logger()->info("pushed {}/{} to {}:{} ({} blobs, {} bytes uploaded; {} blobs present)",
                 job, id, client.where(), tag, report.blobs_uploaded,
                 report.bytes_uploaded, report.blobs_present);
  return report;
}

} // namespace stasis::remote
