#include "store/chunk_list.hpp"

#include <cstring>

namespace stasis::store {

std::vector<std::uint8_t> encode_chunk_list(std::span<const ChunkRef> refs) {
  std::vector<std::uint8_t> out(refs.size() * k_chunk_ref_size);
  std::uint8_t* p = out.data();
  for (const auto& ref : refs) {
    std::memcpy(p, ref.hash.bytes.data(), 32);
    std::memcpy(p + 32, &ref.size, 4);
    p += k_chunk_ref_size;
  }
  return out;
}

Result<void> decode_chunk_list(std::span<const std::uint8_t> blob, std::vector<ChunkRef>& out) {
  if (blob.size() % k_chunk_ref_size != 0) {
    return make_error("chunk list blob has a bad size ({} bytes)", blob.size());
  }
  for (std::size_t pos = 0; pos < blob.size(); pos += k_chunk_ref_size) {
    ChunkRef ref;
    std::memcpy(ref.hash.bytes.data(), blob.data() + pos, 32);
    std::memcpy(&ref.size, blob.data() + pos + 32, 4);
    out.push_back(ref);
  }
  return ok();
}

} // namespace stasis::store
