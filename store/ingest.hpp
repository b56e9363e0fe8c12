// Ingest: turning a CRIU images dir into chunks, chunk lists and a manifest.
//
// Memory images are chunked at page granularity using the pagemap: every
// 4 KiB page of pages-<id>.img is one chunk keyed by its SHA-256, so a few
// dirty pages cost a few pages and pages that move inside the image (a heap
// that grows below existing mappings) still deduplicate. Chunk lists group
// the pages of one 128 KiB virtual-address window, so an unchanged window
// also reuses its list blob. Zero pages are never stored. Other images are
// cut into 64 KiB chunks.
#pragma once

#include "store/blob_sink.hpp"
#include "store/chunk_list.hpp"
#include "store/types.hpp"

namespace stasis::store {

inline constexpr std::uint32_t k_file_chunk_size = 64 << 10;
inline constexpr std::size_t k_file_chunks_per_list = 64;
inline constexpr std::size_t k_pages_per_list = 32;

// Builds the manifest of checkpoint job/id from images_dir, writing new blobs
// through sink. parent (may be null) resolves CRIU PE_PARENT pages.
Result<Manifest> build_checkpoint(BlobSink& sink, const BlobIndex& index, const std::string& job,
                                  std::uint64_t id, const fs::path& images_dir,
                                  const IngestInfo& info, const Manifest* parent);

} // namespace stasis::store
