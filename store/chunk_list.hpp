// Chunk lists: the binary blobs that say which chunks make up a file.
//
// A file is a sequence of list blobs; a list blob is N x { hash[32] | u32
// size } (little-endian). The zero hash stands for `size` zero bytes. Lists
// are blobs themselves (content-addressed, deduplicated, verified), so a
// manifest names a 1 GiB memory image with a few thousand hashes, and an
// unchanged memory window costs nothing in the next checkpoint.
#pragma once

#include "store/hash.hpp"
#include "util/result.hpp"

#include <vector>

namespace stasis::store {

// One chunk of a file.
struct ChunkRef {
  Hash hash;
  std::uint32_t size = 0;
};

inline constexpr std::size_t k_chunk_ref_size = 36;

// Serialises chunk references into a list blob.
std::vector<std::uint8_t> encode_chunk_list(std::span<const ChunkRef> refs);

// Parses a list blob (appending to out).
Result<void> decode_chunk_list(std::span<const std::uint8_t> blob, std::vector<ChunkRef>& out);

} // namespace stasis::store
