// Reading CRIU's image files: a bounded read of one file of an images dir and
// the split of an image into its entries (criu/include/image.h's layout).
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stasis::engine {

// Magic numbers at the head of CRIU images (criu/include/magic.h).
inline constexpr std::uint32_t k_img_common_magic = 0x54564319;
inline constexpr std::uint32_t k_pstree_magic = 0x50273030;

// Reads the regular file `name` of the directory dir_fd (no symlink followed,
// never blocking on a FIFO), refusing one of more than `limit` bytes.
Result<std::string> read_image(int dir_fd, const std::string& name, std::size_t limit);

// The entries of an image: its magic checked, then (size, message) pairs.
Result<std::vector<std::string_view>>
entries_of(std::string_view image, std::uint32_t magic, const std::string& name);

// One entry parsed as the protobuf Message; name (the image's) is for the
// error.
template <typename Message>
Result<Message> parse_entry(std::string_view bytes, const std::string& name) {
  Message message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return make_error("{} holds an unreadable entry", name);
  }
  return message;
}

} // namespace stasis::engine
