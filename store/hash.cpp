#include "store/hash.hpp"

#include <memory>
#include <xxhash.h>

#include <openssl/evp.h>

namespace stasis::store {
namespace {

struct MdDeleter {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};
struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

const EVP_MD* sha256_md() {
  static const std::unique_ptr<EVP_MD, MdDeleter> md{
      EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  return md.get();
}

} // namespace

Hash sha256(std::span<const std::uint8_t> data) {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx{EVP_MD_CTX_new()};
  Hash out;
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx.get(), sha256_md(), nullptr);
  EVP_DigestUpdate(ctx.get(), data.data(), data.size());
  EVP_DigestFinal_ex(ctx.get(), out.bytes.data(), &len);
  return out;
}

Sha256Stream::Sha256Stream() : m_ctx(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(m_ctx), sha256_md(), nullptr);
}

Sha256Stream::~Sha256Stream() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(m_ctx));
}

void Sha256Stream::update(std::span<const std::uint8_t> data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(m_ctx), data.data(), data.size());
}

Hash Sha256Stream::finish() {
  Hash out;
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(m_ctx), out.bytes.data(), &len);
  return out;
}

std::string to_hex(const Hash& hash) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (std::size_t i = 0; i < hash.bytes.size(); ++i) {
    out[2 * i] = k_digits[hash.bytes[i] >> 4];
    out[2 * i + 1] = k_digits[hash.bytes[i] & 0xf];
  }
  return out;
}

std::optional<Hash> hash_from_hex(std::string_view hex) {
  if (hex.size() != 64) {
    return std::nullopt;
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    return -1;
  };
  Hash out;
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    out.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

FastHash fast_hash(std::span<const std::uint8_t> data) {
  XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  return {h.low64, h.high64};
}

bool all_zero(std::span<const std::uint8_t> data) {
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    if (v != 0) {
      return false;
    }
    p += 8;
    n -= 8;
  }
  while (n-- > 0) {
    if (*p++ != 0) {
      return false;
    }
  }
  return true;
}

} // namespace stasis::store
