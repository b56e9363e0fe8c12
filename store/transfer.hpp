// Export files: one checkpoint as a single self-contained file.
//
// Format (little-endian), version 1:
//   header   "STASISXP" | u32 version (1) | u32 flags (0)
//   record   u8 type, then by type:
//     1 manifest  u64 length | manifest JSON (self-checking "digest" field)
//     2 blob      hash[32] | u8 codec (0 raw, 1 zstd) | u32 raw_len |
//                 u32 stored_len | stored bytes      (SHA-256 of the decoded
//                 bytes must equal hash)
//     3 end       u64 blob count | sha256[32] of every byte before this field
// The manifest comes first, then every blob the checkpoint needs (chunk lists
// and chunks, zero pages excluded), then the end record. Import checks every
// blob, the count and the file checksum before it commits anything.
#pragma once

#include "store/blob_index.hpp"
#include "store/blob_sink.hpp"
#include "store/manifest.hpp"

namespace stasis::store {

// Writes manifest and its blobs to file (atomically: temp + rename).
Result<void> write_export(const BlobIndex& index, const Manifest& manifest, const fs::path& file);

// Reads an export file, writing its new blobs through sink; returns the
// manifest as exported once everything checked out.
Result<Manifest> read_export(BlobSink& sink, const BlobIndex& index, const fs::path& file);

} // namespace stasis::store
