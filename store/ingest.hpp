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
#include "store/fast_table.hpp"
#include "store/types.hpp"

namespace stasis::store {

inline constexpr std::uint32_t k_file_chunk_size = 64 << 10;
inline constexpr std::size_t k_file_chunks_per_list = 64;
inline constexpr std::size_t k_pages_per_list = 32;

// Most entries an images dir may hold (CRIU writes about ten per process).
inline constexpr std::size_t k_max_image_files = 32768;
// Largest pagemap image (read into memory whole): millions of entries.
inline constexpr std::uint64_t k_max_pagemap_bytes = 64ULL << 20;

// Builds the manifest of checkpoint job/id from images_dir, writing new blobs
// through sink. parent (may be null) resolves CRIU PE_PARENT pages. With
// parent_fast (the parent's fast table), a page whose XXH3-128 matches the
// parent's page at its vaddr reuses the parent's chunk without a SHA-256;
// fast_out (may be null) receives this checkpoint's fast table.
//
// images_dir may have been written by another user (a non-root target's
// CRIU), who may change it meanwhile: it is opened without following a
// symlink, and each entry relative to it with O_NOFOLLOW | O_NONBLOCK. Only
// regular files with one link are read (CRIU's "parent" symlink is skipped,
// never followed); anything else refuses the whole dir, naming every such
// entry. At most k_max_image_files entries and info.limits.max_logical_bytes.
Result<Manifest> build_checkpoint(BlobSink& sink, const BlobIndex& index,
                                  const std::string& job, std::uint64_t id,
                                  const fs::path& images_dir, const IngestInfo& info,
                                  const Manifest* parent,
                                  const FastTable* parent_fast = nullptr,
                                  FastTable* fast_out = nullptr);

} // namespace stasis::store
