// Image helpers shared by the streaming and the lazy page server: CRIU-style
// pagemap encoding and storing small files the way ingest does.
#pragma once

#include "store/blob_sink.hpp"
#include "store/chunk_list.hpp"
#include "store/pagemap.hpp"

namespace stasis::store::page_server {

// Encodes a pagemap exactly as CRIU 4.2 writes it (compat nr_pages field 0,
// then flags and the 64-bit nr_pages), so that streamed checkpoints are
// byte-identical to CRIU's own page server output.
std::string encode_criu_pagemap(const Pagemap& pagemap);

// Stores a non-page file as ingest does (64 KiB chunks, 64 per list) and
// returns its chunk list hashes.
Result<std::vector<Hash>> store_small_file(BlobSink& sink,
                                           std::span<const std::uint8_t> data);

// Stores the page refs of one pages image as ingest does: one list per 128 KiB
// virtual-address window, at most 32 pages per list. vaddrs[i] is the address
// of refs[i].
Result<std::vector<Hash>> store_page_lists(BlobSink& sink, std::span<const ChunkRef> refs,
                                           std::span<const std::uint64_t> vaddrs);

} // namespace stasis::store::page_server
