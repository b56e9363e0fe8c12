// SHA-256 content hashes: the names of every blob in the store.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace stasis::store {

// A SHA-256 digest. The all-zero value is reserved for "a run of zero bytes"
// (zero pages cost nothing: they are never stored).
struct Hash {
  std::array<std::uint8_t, 32> bytes{};

  bool is_zero() const {
    for (auto b : bytes) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }
  friend bool operator==(const Hash&, const Hash&) = default;
  friend auto operator<=>(const Hash&, const Hash&) = default;
};

// Hash functor for unordered containers keyed by Hash.
struct HashHasher {
  std::size_t operator()(const Hash& h) const {
    std::size_t v;
    std::memcpy(&v, h.bytes.data(), sizeof(v));
    return v;
  }
};

// Computes the SHA-256 of data (OpenSSL EVP, one reused context per thread).
Hash sha256(std::span<const std::uint8_t> data);
inline Hash sha256(std::string_view data) {
  return sha256({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
}

// Incremental SHA-256 over a stream of bytes.
class Sha256Stream {
public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void update(std::span<const std::uint8_t> data);
  Hash finish();

private:
  void* m_ctx;
};

// Lower-case hex form of a hash (64 characters).
std::string to_hex(const Hash& hash);

// Parses 64 hex characters; nullopt on anything else.
std::optional<Hash> hash_from_hex(std::string_view hex);

// A 128-bit XXH3 digest: a fast, non-cryptographic fingerprint used to tell
// whether a page changed since the parent checkpoint and to check blobs as
// they are read back. Names of blobs stay SHA-256 (Hash).
struct FastHash {
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  friend bool operator==(const FastHash&, const FastHash&) = default;
};

// Computes the XXH3-128 of data (about 10x faster than SHA-256 per core).
FastHash fast_hash(std::span<const std::uint8_t> data);

// True when every byte of data is zero.
bool all_zero(std::span<const std::uint8_t> data);

} // namespace stasis::store
