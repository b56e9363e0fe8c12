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

// Serialises a manifest as JSON with a SHA-256 "digest" of its content.
std::string manifest_to_json(const Manifest& manifest);

// Parses and checks a manifest (digest, required fields, file names).
Result<Manifest> manifest_from_json(std::string_view text);

// True for names a job may have: [A-Za-z0-9_.@-], not starting with '.', < 128.
bool valid_job_name(std::string_view job);

// True for file names a checkpoint may contain (no '/', not "." or "..").
bool valid_file_name(std::string_view name);

} // namespace stasis::store
