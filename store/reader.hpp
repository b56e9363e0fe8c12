// Reading checkpoints back: chunk lists, whole files, verification.
#pragma once

#include "store/blob_index.hpp"
#include "store/chunk_list.hpp"
#include "store/manifest.hpp"
#include "store/output_dir.hpp"
#include "store/progress.hpp"

#include <functional>
#include <map>
#include <unordered_set>

namespace stasis::store {

// Reads and verifies one blob (BlobIndex::read, or a reader over another index).
using BlobReader = std::function<Result<void>(const Hash&, std::vector<std::uint8_t>&)>;

// Expands a file's chunk lists into its chunks (list blobs are verified) and
// checks that their sizes add up to the file size.
Result<std::vector<ChunkRef>> file_chunks(const BlobIndex& index, const FileRecord& file);
Result<std::vector<ChunkRef>> file_chunks(const BlobReader& read, const FileRecord& file);

// Reads a whole stored file into memory (for small images such as pagemaps).
Result<std::string> read_stored_file(const BlobIndex& index, const FileRecord& file);
Result<std::string> read_stored_file(const BlobReader& read, const FileRecord& file);

// Re-hashes the given blobs in parallel; returns the damaged ones with why.
std::map<Hash, std::string>
verify_blobs(const BlobIndex& index, const std::unordered_set<Hash, HashHasher>& blobs);

// Checks one checkpoint. known_bad caches blob results across checkpoints.
struct CheckpointCheck {
  std::vector<std::string> bad_files;
  std::vector<std::string> problems;
  std::size_t blobs = 0;
  std::uint64_t bytes = 0;
};
CheckpointCheck check_checkpoint(const BlobIndex& index, const Manifest& manifest,
                                 bool rehash_data);

// Writes the checkpoint's files into out (as 0644 files, whatever their
// recorded modes), verifying every chunk; returns an error naming damaged
// files. The caller discards out on error. progress (if set) is told the
// bytes written of the checkpoint's logical bytes.
Result<void> write_checkpoint(const BlobIndex& index, const Manifest& manifest,
                              OutputDir& out, const ProgressFn& progress = {});

} // namespace stasis::store
