// Blob compression: zstd when it helps, raw otherwise.
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace stasis::store {

// How a blob's bytes are stored.
enum class Codec : std::uint8_t { Raw = 0, Zstd = 1 };

// The zstd level the store uses (fast; checkpoints are written often).
inline constexpr int k_zstd_level = 1;

// Compresses data into out (replacing its content) and returns the codec used:
// Raw (out left empty: store data itself) when zstd saves less than 1/32.
Codec compress(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& out);

// Decodes stored bytes into out, which must be exactly raw_size bytes.
Result<void> decompress(Codec codec, std::span<const std::uint8_t> stored,
                        std::span<std::uint8_t> out);

} // namespace stasis::store
