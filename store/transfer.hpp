// Export files: one checkpoint as a single self-contained file. The format is
// documented in docs/export-format.md:
//   header   "STASISXP" | u32 version (1) | u32 flags (0)
//   record   u8 type, then by type:
//     1 manifest  u64 length | manifest JSON (self-checking "digest" field)
//     2 blob      hash[32] | u8 codec (0 raw, 1 zstd) | u32 raw_len |
//                 u32 stored_len | stored bytes      (SHA-256 of the decoded
//                 bytes must equal hash)
//     3 end       u64 blob count | sha256[32] of every byte before this field
// The manifest comes first, then, file by file, its chunk lists each followed
// by the chunks it names (each blob once, zero chunks excluded), then the end
// record. Import checks every blob, every size, the count and the file
// checksum before it commits anything, and stores only blobs the checkpoint
// uses.
#pragma once

#include "store/blob_index.hpp"
#include "store/blob_sink.hpp"
#include "store/ingest.hpp"
#include "store/manifest.hpp"
#include "store/types.hpp"

#include <chrono>
#include <functional>

namespace stasis::store {

// The format's constants.
namespace export_format {
inline constexpr char k_magic[8] = {'S', 'T', 'A', 'S', 'I', 'S', 'X', 'P'};
inline constexpr std::uint32_t k_version = 1;
inline constexpr std::uint8_t k_manifest_record = 1;
inline constexpr std::uint8_t k_blob_record = 2;
inline constexpr std::uint8_t k_end_record = 3;
} // namespace export_format

// Largest blob an export file may carry: a chunk (chunk lists are smaller).
inline constexpr std::uint32_t k_max_export_blob_bytes = k_file_chunk_size;

// Writes manifest and its blobs to file (atomically: a new temp file in its
// dir, then rename; a symlink at file is replaced, never followed).
Result<void> write_export(const BlobIndex& index, const Manifest& manifest,
                          const fs::path& file);

// Writes the same stream to fd, a descriptor a caller passed (a file she
// opened or a pipe; name is for messages). A write that makes no progress
// for stall fails, so a reader that stops never holds the store for long
// (the caller makes fd non-blocking; zero: plain blocking writes).
Result<void> write_export_to(const BlobIndex& index, const Manifest& manifest, int fd,
                             const std::string& name, std::chrono::milliseconds stall);

// Reads an export file from fd (store/transfer_import.cpp) (name is for messages),
// writing its new blobs through sink; returns the manifest as exported (its job and id
// are the exporter's) once everything checked out, the sizes within limits.
Result<Manifest> read_export(BlobSink& sink, const BlobIndex& index, int fd,
                             const std::string& name, const StoreLimits& limits);

// Delivers the blobs an import asks for (Store::import_from_source), e.g.
// from a registry: fetch calls put once per hash with the blob's stored
// bytes, which the store checks (wanted, sizes, content hash) before it keeps
// them; an error of put ends the fetch (the source may add where it read).
class BlobSource {
public:
  using Put = std::function<Result<void>(const Hash&, Codec, std::uint32_t raw_len,
                                         std::span<const std::uint8_t> stored)>;
  virtual ~BlobSource() = default;
  virtual Result<void> fetch(const std::vector<Hash>& hashes, const Put& put) = 0;
};

// Reads a checkpoint from source into sink (store/transfer_import.cpp): first
// the chunk lists the store lacks, then the chunks they name that it lacks;
// returns the manifest once every file's lists and chunks are there with the
// declared sizes, within limits. name is for messages.
Result<Manifest> read_from_source(BlobSink& sink, const BlobIndex& index,
                                  const Manifest& manifest, BlobSource& source,
                                  const std::string& name, const StoreLimits& limits);

} // namespace stasis::store
