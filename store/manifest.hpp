// Manifests: the description of one checkpoint, stored as JSON.
#pragma once

#include "store/hash.hpp"
#include "util/result.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stasis::store {

// CRIU dump statistics, passed in by the caller as plain numbers.
struct DumpStats {
  std::uint64_t frozen_usec = 0;
  std::uint64_t memdump_usec = 0;
  std::uint64_t memwrite_usec = 0;
  std::uint64_t pages_scanned = 0;
  std::uint64_t pages_written = 0;
};

// One image file of a checkpoint.
struct FileRecord {
  std::string name;
  std::uint32_t mode = 0600;
  std::uint64_t size = 0;
  std::vector<Hash> lists; // chunk list blobs, in file order
};

// Everything stored about one checkpoint.
struct Manifest {
  std::string job;
  std::uint64_t id = 0;
  std::optional<std::uint64_t> previous;
  std::chrono::sys_seconds created{};
  std::string policy_fingerprint;
  std::string criu_version;
  std::string kernel;
  std::string cpu;
  std::string target;
  std::string imported_from; // "" unless imported from an export file
  DumpStats stats;
  std::uint64_t logical_bytes = 0;
  std::uint64_t stored_bytes = 0; // bytes newly stored by this checkpoint
  std::vector<FileRecord> files;
};

// Largest manifest the store reads (a 256 GiB checkpoint of dense memory
// needs about 150 MiB of chunk list hashes).
inline constexpr std::uint64_t k_max_manifest_bytes = 256ULL << 20;
// Deepest JSON nesting a manifest may have (the store writes 4 levels).
inline constexpr int k_max_manifest_depth = 16;
// Longest image file name (NAME_MAX).
inline constexpr std::size_t k_max_file_name = 255;

// Serialises a manifest as JSON with a SHA-256 "digest" of its content.
std::string manifest_to_json(const Manifest& manifest);

// Parses and checks a manifest (size, nesting, digest, required fields, file
// names, no file named twice).
Result<Manifest> manifest_from_json(std::string_view text);

// True for names a job may have: [A-Za-z0-9_.@-], not starting with '.', < 128.
bool valid_job_name(std::string_view job);

// True for file names a checkpoint may contain: they stay inside an images
// dir (no '/', not "." or "..", no NUL, at most k_max_file_name bytes).
bool valid_file_name(std::string_view name);

} // namespace stasis::store
