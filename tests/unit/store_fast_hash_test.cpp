// The store's fast page fingerprint (XXH3-128): equal bytes give equal
// fingerprints, and one changed byte of a page changes it.
#include "store/hash.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace stasis::store {
namespace {

TEST(AFastHash, IsTheSameForEqualPages) {
  std::vector<std::uint8_t> a(4096, 0x5a);
  std::vector<std::uint8_t> b(4096, 0x5a);
  EXPECT_EQ(fast_hash(a), fast_hash(b));
}

TEST(AFastHash, ChangesWhenOneByteOfAPageChanges) {
  std::vector<std::uint8_t> page(4096, 0x5a);
  FastHash before = fast_hash(page);
  page[2048] ^= 1;
  EXPECT_NE(fast_hash(page), before);
  page[2048] ^= 1;
  page[4095] ^= 0x80;
  EXPECT_NE(fast_hash(page), before);
}

TEST(AFastHash, TellsAZeroPageFromAnEmptyOne) {
  std::vector<std::uint8_t> zero(4096, 0);
  EXPECT_NE(fast_hash(zero), fast_hash(std::span<const std::uint8_t>{}));
}

} // namespace
} // namespace stasis::store
