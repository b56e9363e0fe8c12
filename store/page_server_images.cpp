#include "store/page_server_images.hpp"

#include "store/ingest.hpp"

#include <cstring>

namespace stasis::store::page_server {
namespace {

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_message(std::string& out, const std::string& msg) {
  auto size = static_cast<std::uint32_t>(msg.size());
  char b[4];
  std::memcpy(b, &size, 4);
  out.append(b, 4);
  out += msg;
}

} // namespace

std::string encode_criu_pagemap(const Pagemap& pagemap) {
  std::string out;
  std::string msg;
  for (auto magic : {k_img_common_magic, k_pagemap_magic}) {
    char b[4];
    std::memcpy(b, &magic, 4);
    out.append(b, 4);
  }
  msg.push_back(0x08);
  put_varint(msg, pagemap.pages_id);
  put_message(out, msg);
  for (const auto& e : pagemap.entries) {
    msg.clear();
    msg.push_back(0x08);
    put_varint(msg, e.vaddr);
    msg.push_back(0x10);
    msg.push_back(0x00);
    msg.push_back(0x20);
    put_varint(msg, e.flags);
    msg.push_back(0x28);
    put_varint(msg, e.nr_pages);
    put_message(out, msg);
  }
  return out;
}

Result<std::vector<Hash>> store_small_file(BlobSink& sink,
                                           std::span<const std::uint8_t> data) {
  std::vector<Hash> lists;
  std::vector<ChunkRef> current;
  std::vector<std::uint8_t> stored;
  for (std::size_t off = 0; off < data.size(); off += k_file_chunk_size) {
    auto chunk =
        data.subspan(off, std::min<std::size_t>(k_file_chunk_size, data.size() - off));
    ChunkRef ref{Hash{}, static_cast<std::uint32_t>(chunk.size())};
    if (!all_zero(chunk)) {
      ref.hash = STASIS_TRY(sink.put_raw(chunk));
    }
    current.push_back(ref);
    if (current.size() == k_file_chunks_per_list) {
      lists.push_back(STASIS_TRY(sink.put_raw(encode_chunk_list(current))));
      current.clear();
    }
  }
  if (!current.empty()) {
    lists.push_back(STASIS_TRY(sink.put_raw(encode_chunk_list(current))));
  }
  return lists;
}

Result<std::vector<Hash>> store_page_lists(BlobSink& sink, std::span<const ChunkRef> refs,
                                           std::span<const std::uint64_t> vaddrs) {
  std::vector<Hash> lists;
  std::vector<ChunkRef> current;
  std::uint64_t group = 0;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    std::uint64_t g = vaddrs[i] >> 17;
    if (!current.empty() && (g != group || current.size() >= k_pages_per_list)) {
      lists.push_back(STASIS_TRY(sink.put_raw(encode_chunk_list(current))));
      current.clear();
    }
    group = g;
    current.push_back(refs[i]);
  }
  if (!current.empty()) {
    lists.push_back(STASIS_TRY(sink.put_raw(encode_chunk_list(current))));
  }
  return lists;
}

} // namespace stasis::store::page_server
