#include "store/codec.hpp"

#include <cstring>
#include <memory>

#include <zstd.h>

namespace stasis::store {
namespace {

struct CctxDeleter {
  void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
};
struct DctxDeleter {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

} // namespace

Codec compress(std::span<const std::uint8_t> data, std::vector<std::uint8_t>& out) {
  thread_local std::unique_ptr<ZSTD_CCtx, CctxDeleter> ctx{ZSTD_createCCtx()};
  out.resize(ZSTD_compressBound(data.size()));
  std::size_t n = ZSTD_compressCCtx(ctx.get(), out.data(), out.size(), data.data(),
                                    data.size(), k_zstd_level);
  if (!ZSTD_isError(n) && n + data.size() / 32 < data.size()) {
    out.resize(n);
    return Codec::Zstd;
  }
  out.clear();
  return Codec::Raw;
}

Result<void> decompress(Codec codec, std::span<const std::uint8_t> stored,
                        std::span<std::uint8_t> out) {
  if (codec == Codec::Raw) {
    if (stored.size() != out.size()) {
      return make_error("raw blob has {} bytes, expected {}", stored.size(), out.size());
    }
    std::memcpy(out.data(), stored.data(), out.size());
    return ok();
  }
  if (codec != Codec::Zstd) {
    return make_error("unknown blob codec {}", static_cast<int>(codec));
  }
  thread_local std::unique_ptr<ZSTD_DCtx, DctxDeleter> ctx{ZSTD_createDCtx()};
  std::size_t n = ZSTD_decompressDCtx(ctx.get(), out.data(), out.size(), stored.data(),
                                      stored.size());
  if (ZSTD_isError(n)) {
    return make_error("corrupt zstd blob: {}", ZSTD_getErrorName(n));
  }
  if (n != out.size()) {
    return make_error("zstd blob decodes to {} bytes, expected {}", n, out.size());
  }
  return ok();
}

} // namespace stasis::store
