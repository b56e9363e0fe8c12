#include "store/pagemap.hpp"

#include <cstring>

#include <gtest/gtest.h>

using namespace stasis::store;

namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void put_u32(std::string& out, std::uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

} // namespace

TEST(APagemapImage, RoundTripsThroughEncodeAndParse) {
  Pagemap pm;
  pm.pages_id = 7;
  pm.entries = {{0x400000, 3, k_pe_present},
                {0x7f0000000000, 5, k_pe_parent},
                {0x7f0000010000, 1ULL << 33, k_pe_present | k_pe_lazy}};
  auto parsed = parse_pagemap(bytes(encode_pagemap(pm)));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->pages_id, 7U);
  ASSERT_EQ(parsed->entries.size(), 3U);
  EXPECT_EQ(parsed->entries[1].vaddr, 0x7f0000000000U);
  EXPECT_TRUE(parsed->entries[1].in_parent());
  EXPECT_EQ(parsed->entries[2].nr_pages, 1ULL << 33);
  EXPECT_EQ(parsed->pages_file(), "pages-7.img");
  EXPECT_EQ(parsed->present_pages(), 3 + (1ULL << 33));
  EXPECT_TRUE(parsed->has_parent_entries());
}

TEST(APagemapImage, ReadsOldEntriesWithInParentAndNoFlags) {
  std::string img;
  put_u32(img, k_img_common_magic);
  put_u32(img, k_pagemap_magic);
  std::string head = "\x08\x02";
  put_u32(img, static_cast<std::uint32_t>(head.size()));
  img += head;
  std::string e1 = std::string("\x08\x80\x20\x10\x04", 5); // vaddr 0x1000, 4 pages
  std::string e2 = std::string("\x08\x80\x40\x10\x02\x18\x01", 7); // in_parent
  put_u32(img, static_cast<std::uint32_t>(e1.size()));
  img += e1;
  put_u32(img, static_cast<std::uint32_t>(e2.size()));
  img += e2;
  auto parsed = parse_pagemap(bytes(img));
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->entries.size(), 2U);
  EXPECT_EQ(parsed->entries[0].vaddr, 0x1000U);
  EXPECT_EQ(parsed->entries[0].nr_pages, 4U);
  EXPECT_TRUE(parsed->entries[0].present());
  EXPECT_TRUE(parsed->entries[1].in_parent());
  EXPECT_FALSE(parsed->entries[1].present());
}

TEST(APagemapImage, PrefersTheU64PageCountOfCriu4) {
  std::string img;
  put_u32(img, k_img_common_magic);
  put_u32(img, k_pagemap_magic);
  put_u32(img, 2);
  img += "\x08\x01";
  // vaddr 0x1000, compat_nr_pages 0, flags PE_PRESENT, nr_pages 9, unknown field 6.
  std::string e = std::string("\x08\x80\x20\x10\x00\x20\x04\x28\x09\x30\x01", 11);
  put_u32(img, static_cast<std::uint32_t>(e.size()));
  img += e;
  auto parsed = parse_pagemap(bytes(img));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->entries.at(0).nr_pages, 9U);
}

TEST(APagemapImage, RejectsBadMagicAndTruncation) {
  EXPECT_FALSE(parse_pagemap(bytes(std::string(16, 'x'))));
  Pagemap pm;
  pm.entries = {{0x1000, 1, k_pe_present}};
  auto img = encode_pagemap(pm);
  img.pop_back();
  auto parsed = parse_pagemap(bytes(img));
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("truncated"), std::string::npos);
}

TEST(APagemapImage, RecognisesPagemapFileNames) {
  EXPECT_TRUE(is_pagemap_name("pagemap-42.img"));
  EXPECT_TRUE(is_pagemap_name("pagemap-shmem-1234.img"));
  EXPECT_FALSE(is_pagemap_name("pages-1.img"));
}
