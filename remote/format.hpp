// The layout of checkpoints on a registry (docs/registry-format.md): media
// types, tags, the index blob and the OCI image manifest.
#pragma once

#include "remote/remote.hpp"
#include "store/codec.hpp"
#include "store/hash.hpp"
#include "store/manifest.hpp"

#include <map>

namespace stasis::remote {

namespace fs = std::filesystem;

inline constexpr std::string_view k_oci_manifest_type =
    "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view k_checkpoint_type =
    "application/vnd.stasis.checkpoint.v1+json";
inline constexpr std::string_view k_index_type = "application/vnd.stasis.index.v1";
inline constexpr std::string_view k_bundle_type = "application/vnd.stasis.bundle.v1";

// Bounds on what a pull takes from a registry.
inline constexpr std::size_t k_max_index_bytes = 64 << 20;
inline constexpr std::size_t k_max_config_bytes = 256
                                                  << 20; // store::k_max_manifest_bytes
inline constexpr std::uint64_t k_max_bundle_bytes = 64 << 20;
inline constexpr std::size_t k_max_bundles = 1 << 16;
inline constexpr std::size_t k_max_layers = k_max_bundles + 1;
// Size a push fills a new bundle to before it starts the next.
inline constexpr std::uint64_t k_bundle_target_bytes = 16 << 20;
// Longest origin (host name) in a tag.
inline constexpr std::size_t k_max_origin_length = 32;

// True for origins: [A-Za-z0-9_.]{1,32}.
bool valid_origin(std::string_view origin);
// This host's name made an origin ('-' and others become '_').
std::string default_origin();

// Tags: JOB-ORIGIN-ID for a checkpoint, JOB-latest for the newest push.
std::string checkpoint_tag(const std::string& job, const std::string& origin,
                           std::uint64_t id);
std::string latest_tag(const std::string& job);
struct TagParts {
  std::string job;
  std::string origin;
  std::uint64_t id = 0;
};
// Splits a JOB-ORIGIN-ID tag (the origin has no '-', the id is digits).
std::optional<TagParts> parse_checkpoint_tag(std::string_view tag);

// Where one blob of a checkpoint is: a slice of a bundle.
struct IndexEntry {
  store::Hash hash;
  std::uint32_t bundle = 0;
  store::Codec codec = store::Codec::Raw;
  std::uint64_t offset = 0;
  std::uint32_t stored_len = 0;
  std::uint32_t raw_len = 0;
};

// One bundle: a blob of the repository holding stored blobs back to back.
struct Bundle {
  store::Hash digest;
  std::uint64_t size = 0;
  std::string digest_string() const { return "sha256:" + store::to_hex(digest); }
};

// The index blob of one checkpoint: every blob it uses and where it is.
struct RemoteIndex {
  std::vector<Bundle> bundles;
  std::vector<IndexEntry> entries; // sorted by hash, each once
  const IndexEntry* find(const store::Hash& hash) const;
};

// Binary encoding (docs/registry-format.md); entries are sorted first.
std::vector<std::uint8_t> encode_index(RemoteIndex index);
// Decodes and checks an index: sizes, order, every slice inside its bundle.
Result<RemoteIndex> decode_index(std::span<const std::uint8_t> bytes);

// A descriptor in an OCI manifest.
struct Descriptor {
  std::string media_type;
  std::string digest;
  std::uint64_t size = 0;
};

// The parts of an OCI image manifest stasis reads.
struct OciManifest {
  Descriptor config;
  std::vector<Descriptor> layers; // the index first, then the bundles
  std::map<std::string, std::string> annotations;
};

std::string oci_manifest_to_json(const OciManifest& manifest);
// Parses and checks a stasis checkpoint manifest (media types, digests).
Result<OciManifest> oci_manifest_from_json(std::string_view text,
                                           const std::string& where);

// The config blob: the stasis manifest's JSON text and the origin.
std::string config_to_json(const std::string& manifest_json, const std::string& origin);
struct Config {
  std::string manifest_json;
  std::string origin;
};
Result<Config> config_from_json(std::string_view text);

class RegistryClient;

// What reading a checkpoint starts with: its OCI manifest by tag, the config's
// stasis manifest and the index, each checked (sizes, digests, every bundle
// of the index a layer of the manifest).
struct CheckpointHead {
  std::string manifest_digest;
  store::Manifest manifest;
  RemoteIndex index;
  std::uint64_t bytes = 0; // downloaded for it
};
Result<CheckpointHead> fetch_checkpoint_head(RegistryClient& client,
                                             const Reference& ref);

} // namespace stasis::remote
