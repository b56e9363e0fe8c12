// Checkpoints in an OCI registry (CNCF Distribution and compatible): push a
// stored checkpoint, list a repository's checkpoints, pull one into a local
// store. docs/registry-format.md describes the layout on the registry:
// one OCI image manifest per checkpoint (artifact config media type
// application/vnd.stasis.checkpoint.v1+json holding the stasis manifest),
// whose layers are immutable content-addressed bundles of chunks plus an
// index blob (chunk hash -> bundle digest, offset, lengths). A push uploads
// only the bundles the repository lacks and writes the manifest last, then
// the tags JOB-ORIGIN-ID (origin: the pushing host) and JOB-latest; many
// hosts may push to one repository at once with no lock.
//
// HTTP is libcurl; credentials come in containers-auth.json(5) form; TLS
// uses the system CA store plus an optional CA bundle.
#pragma once

#include "store/lazy_source.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stasis::remote {

// Bounds on what a reference and an auth file may be.
inline constexpr std::size_t k_max_reference_length = 512;
inline constexpr std::size_t k_max_registry_name = 255;
inline constexpr std::size_t k_max_repository_length = 255;
inline constexpr std::size_t k_max_tag_length = 128;
inline constexpr std::size_t k_max_auth_json_bytes = 1 << 20;

// True for tags a registry takes: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
bool valid_tag(std::string_view tag);

// A parsed reference: HOST[:PORT]/REPOSITORY[:TAG]. The host part must
// contain a '.' or ':' or be "localhost" (as docker and podman read it).
struct Reference {
  std::string registry;   // host[:port]
  std::string repository; // path components, lowercase [a-z0-9._/-]
  std::string tag;        // "" when none was given
  std::string to_string() const;
};

// Parses and bounds a reference (length <= 255 for the repository, tags
// [A-Za-z0-9_][A-Za-z0-9._-]{0,127}); the error says what is wrong.
Result<Reference> parse_reference(std::string_view text);

// Username and password (or identity token) for one registry.
struct Credentials {
  std::string username;
  std::string password;
};

// How to reach a registry.
struct ClientOptions {
  std::optional<Credentials> credentials;
  std::string ca_pem;      // extra trusted CAs (PEM text); "" = system store only
  bool plain_http = false; // http:// instead of https:// (tests, loopback)
  // Longest a single request may take (a registry that drips its answers
  // is left after it).
  std::chrono::seconds timeout{60};
  // Asked while a request runs (at least once a second): true ends the
  // operation at once with an error (a cancelled run, a stopping daemon).
  std::function<bool()> cancelled;
  // Told, as a push or pull goes, the bytes of blobs moved of the total it
  // knows of so far (a pull learns the chunks it needs after their lists).
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

// Reads credentials for registry from a containers-auth.json(5) file's
// text ("auths": {"host[:port]": {"auth": base64(user:password)}}); nullopt
// when the file has no entry for it. The caller opens the file with the
// right user's rights.
Result<std::optional<Credentials>>
credentials_from_auth_json(std::string_view json_text, const std::string& registry);

// What a push did.
struct PushReport {
  std::string manifest_digest; // sha256:...
  std::vector<std::string> tags;
  std::uint64_t blobs_uploaded = 0;
  std::uint64_t bytes_uploaded = 0;
  std::uint64_t blobs_present = 0; // already in the repository (HEAD said so)
  std::uint64_t bytes_present = 0;
};

// Pushes checkpoint (job, id) of store to repository ref (its tag is
// ignored: tags are JOB-ORIGIN-ID and JOB-latest). origin names the pushing
// host ([A-Za-z0-9_.]{1,32}; "" = this host's name, sanitized), so two hosts
// with a job of the same name never overwrite each other's checkpoints.
Result<PushReport> push_checkpoint(const store::Store& store, const std::string& job,
                                   std::uint64_t id, const Reference& ref,
                                   const ClientOptions& options,
                                   const std::string& origin = "");

// One checkpoint in a repository.
struct RemoteCheckpoint {
  std::string tag; // JOB-ORIGIN-ID
  std::string job;
  std::string origin;
  std::uint64_t id = 0;
  std::chrono::sys_seconds created{};
  std::uint64_t logical_bytes = 0;
  std::string manifest_digest;
};

// The checkpoints in repository ref (every JOB-ORIGIN-ID tag; JOB-latest is
// not listed twice), oldest first per job.
Result<std::vector<RemoteCheckpoint>> list_checkpoints(const Reference& ref,
                                                       const ClientOptions& options);

// What a pull did.
struct PullReport {
  store::CheckpointSummary checkpoint; // as committed in the local store
  std::uint64_t blobs_downloaded = 0;
  std::uint64_t bytes_downloaded = 0;
};

// Pulls the checkpoint ref names (its tag: JOB-ORIGIN-ID or JOB-latest; required)
// into store as the next checkpoint of into_job. Every blob's digest and
// every chunk's SHA-256 is checked before anything is committed (a bad one
// is named in the error); limits bound what it may add.
Result<PullReport> pull_checkpoint(store::Store& store, const Reference& ref,
                                   const std::string& into_job,
                                   const ClientOptions& options,
                                   const store::StoreLimits& limits = {});

class BundleCache;

// Most bytes of the images a lazy restore from a registry writes before the
// tree starts (all but the pages images): they are read into memory first.
inline constexpr std::uint64_t k_max_lazy_small_image_bytes = 256 << 20;

// A checkpoint of a registry restored lazily (docs/registry-format.md, "Lazy
// restore"): open() fetches only its OCI manifest, config and index, then
// the chunk lists and chunks of the small images and of the pages CRIU
// restores itself (by HTTP Range requests on the bundles); the source serves
// the rest on demand, read by Range requests or from the bundles fill()
// downloads. Once fill() has every bundle (each one's digest checked), it
// commits the checkpoint into the local store: a checkpoint is either
// complete there or absent, never partial.
class LazyPull {
public:
  // Opens ref's checkpoint (its tag is required); cache_dir (created by
  // fill(), removed when this and the source are gone) holds the downloaded
  // bundles.
  static Result<std::unique_ptr<LazyPull>> open(const Reference& ref,
                                                const ClientOptions& options,
                                                const std::filesystem::path& cache_dir);
  ~LazyPull();
  LazyPull(const LazyPull&) = delete;
  LazyPull& operator=(const LazyPull&) = delete;

  // The lazy source (once; it keeps reading from the registry and the cache).
  std::unique_ptr<store::LazySource> take_source() { return std::move(m_source); }
  // REGISTRY/REPOSITORY:TAG@sha256:MANIFEST, as imported_from says.
  const std::string& name() const { return m_name; }
  // The checkpoint's logical size (image bytes) and the bundles' total size.
  std::uint64_t logical_bytes() const;
  std::uint64_t bundle_bytes() const;

  // Downloads every bundle not yet downloaded (the chunk lists' first), then
  // stores the checkpoint as the next checkpoint of into_job, every blob
  // checked, within limits. Blocks; cancel() ends it early with an error.
  Result<store::CheckpointSummary> fill(store::Store& store, const std::string& into_job,
                                        const store::StoreLimits& limits = {});
  void cancel();
  // Bytes received from the registry so far (manifest, config, index, ranges,
  // bundles).
  std::uint64_t bytes_downloaded() const;

private:
  LazyPull() = default;

  std::string m_name;
  store::Manifest m_manifest;
  std::uint64_t m_fixed_bytes = 0; // manifest, config and index
  std::shared_ptr<BundleCache> m_cache;
  std::unique_ptr<store::LazySource> m_source;
};

// Deletes the remote checkpoint tag's manifest (by digest) from ref's
// repository, and the container image pushed with it if any; their blobs go
// when the registry's own garbage collection runs.
Result<void> delete_checkpoint(const Reference& ref, const std::string& tag,
                               const ClientOptions& options);

} // namespace stasis::remote
