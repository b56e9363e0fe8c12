// Fast tables: the XXH3-128 fingerprint of every page of a checkpoint, kept
// beside its manifest (jobs/<job>/<id>.fast) so that the next checkpoint of
// the job hashes with SHA-256 only the pages whose fingerprint changed.
//
// The table is an optimisation, never needed to restore: a checkpoint
// without one (stored by older code, imported, too large) makes its child
// take the full path. Format: "STFAST1\n", u32 pagemap count, then per
// pagemap u16 name length, name, u64 page count and per page u64 vaddr,
// u64 low, u64 high, u64 ref tag (little endian).
#pragma once

#include "store/hash.hpp"
#include "util/result.hpp"

#include <map>
#include <string>
#include <unordered_map>

namespace stasis::store {

// Largest fast table read or written (about 11 GiB of pages); a larger
// checkpoint gets none.
inline constexpr std::size_t k_max_fast_table_bytes = 64 << 20;

// What a fast table keeps about one page: its fingerprint and the first 8
// bytes of its chunk's SHA-256, which ties the entry to the manifest's chunk
// (a table left from another checkpoint with the same id matches nothing).
struct FastPage {
  FastHash fast;
  std::uint64_t ref_tag = 0;
};

// The ref_tag of a chunk hash.
inline std::uint64_t ref_tag_of(const Hash& hash) {
  std::uint64_t v;
  std::memcpy(&v, hash.bytes.data(), sizeof(v));
  return v;
}

// vaddr -> what is kept of the pages of one pagemap.
using FastPages = std::unordered_map<std::uint64_t, FastPage>;
// Pagemap image name -> its pages' fingerprints.
using FastTable = std::map<std::string, FastPages>;

// Encodes a table; nullopt when it would exceed k_max_fast_table_bytes.
std::optional<std::string> encode_fast_table(const FastTable& table);

// Decodes a table, refusing anything malformed or too large.
Result<FastTable> decode_fast_table(std::string_view data);

} // namespace stasis::store
