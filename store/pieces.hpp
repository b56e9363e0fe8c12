// Pieces: the chunks of one image file on their way into the store.
//
// store_pieces() reads an image a segment (8 MiB) at a time into reused
// buffers, reading the next segment while the current one is hashed (SHA-256
// on all worker threads), deduplicated, compressed and appended to packs.
#pragma once

#include "store/blob_sink.hpp"
#include "store/chunk_list.hpp"
#include "store/progress.hpp"

#include <vector>

namespace stasis::store {

// Where an image's bytes come from: its file (read a segment at a time into
// reused buffers: no mmap, whose first-touch page faults cost more than the
// copy) or memory (a rewritten pagemap).
struct Source {
  int fd = -1;
  std::span<const std::uint8_t> memory;
  fs::path path;
};

// One chunk to store: bytes to hash (at offset in the source), or a
// reference resolved from the parent. A page piece (fingerprinted) gets the
// XXH3-128 of its bytes in fast; when that equals expected, the page is the
// parent's and takes parent_ref without a SHA-256.
struct Piece {
  std::uint64_t offset = 0;
  const std::uint8_t* data = nullptr;
  std::uint32_t size = 0;
  std::uint64_t group = 0;
  ChunkRef ref;
  bool resolved = false;
  bool fingerprinted = false; // a page at vaddr
  std::uint64_t vaddr = 0;
  bool has_expected = false;
  FastHash fast;
  FastHash expected;
  ChunkRef parent_ref;
};

// Hashes the pieces, stores the new ones and returns the chunk list hashes:
// runs of consecutive pieces of one group, at most per_list in a list.
// progress (may be null) advances by the bytes of each segment stored.
Result<std::vector<Hash>> store_pieces(BlobSink& sink, std::vector<Piece>& pieces,
                                       std::size_t per_list, const Source& source,
                                       ProgressMeter* progress = nullptr);

} // namespace stasis::store
