// Streamed pages on their way into the store: a batch of received pages is
// hashed, deduplicated, compressed and appended to the packs by a worker
// thread while the next batch arrives (store/page_server_stream.cpp).
#pragma once

#include "store/blob_sink.hpp"
#include "store/chunk_list.hpp"
#include "store/pagemap.hpp"

#include <atomic>
#include <string>
#include <vector>

namespace stasis::store {

// Pages hashed and compressed together while the next batch arrives.
inline constexpr std::size_t k_batch_pages = 2048;

// Pages of one destination image (a process's or a shmem segment's pagemap).
struct StreamedImage {
  std::string name;
  Pagemap pagemap;
  std::vector<ChunkRef> refs;
  std::vector<std::uint64_t> vaddrs;
};

// Received pages waiting to be hashed and stored.
struct PageBatch {
  std::vector<std::uint8_t> data = std::vector<std::uint8_t>(k_batch_pages * k_page_size);
  std::vector<std::pair<StreamedImage*, std::size_t>> slots;
  std::vector<ChunkRef> refs = std::vector<ChunkRef>(k_batch_pages);
  std::size_t count = 0;
  Result<void> result = ok();

  std::uint8_t* page(std::size_t i) { return data.data() + i * k_page_size; }
};

// Hashes a batch, compresses its new pages and appends them to the sink;
// sets failed when that fails (b.result says why).
void store_batch(BlobSink& sink, PageBatch& b, std::atomic<bool>& failed);

} // namespace stasis::store
