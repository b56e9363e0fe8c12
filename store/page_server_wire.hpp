// CRIU's page-server protocol (CRIU 4.2), as verified against the real binary
// (tests/e2e/lazy_*_test.cpp).
//
// Every message starts with a 32-byte little-endian header
//   { u32 cmd; u32 padding; u64 nr_pages; u64 vaddr; u64 dst_id }.
// The low 16 bits of cmd are the command, the high 16 bits carry pagemap flags
// (PE_PRESENT, PE_LAZY, ...). dst_id names the destination image: its low 8 bits
// are the type (1 = a process's pagemap, 2 = shared memory) and the bits above
// the image id (the pid, or the shmem id) - except in GET, which a lazy-pages
// daemon sends with the plain pid as dst_id.
//
// A dump (criu dump --page-server) sends OPEN2 (answered with one byte: 1 if
// the server has a parent image, else 0), then ADD_F with flags and nr_pages *
// 4096 bytes of pages (or HOLE for pages without data), per process, then CLOSE,
// answered with a u32 status (0). A lazy-pages daemon (criu lazy-pages
// --page-server) sends GET, answered with the request's header followed by the
// pages, and ends with CLOSE (or FORCE_CLOSE when it was handed the socket),
// also answered with a u32 status.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace stasis::store::page_server {

inline constexpr std::uint32_t k_add = 1;
inline constexpr std::uint32_t k_hole = 2;
inline constexpr std::uint32_t k_open = 3;
inline constexpr std::uint32_t k_open2 = 4;
inline constexpr std::uint32_t k_parent = 5;
inline constexpr std::uint32_t k_add_f = 6;
inline constexpr std::uint32_t k_get = 7;
inline constexpr std::uint32_t k_close = 0x1023;
inline constexpr std::uint32_t k_force_close = 0x1024;

inline constexpr std::uint32_t k_type_pid = 1;
inline constexpr std::uint32_t k_type_shmem = 2;

inline constexpr std::size_t k_header_size = 32;

// One decoded message header.
struct Header {
  std::uint32_t cmd = 0;
  std::uint64_t nr_pages = 0;
  std::uint64_t vaddr = 0;
  std::uint64_t dst_id = 0;

  std::uint32_t command() const { return cmd & 0xffff; }
  std::uint32_t flags() const { return cmd >> 16; }
  std::uint32_t type() const { return static_cast<std::uint32_t>(dst_id & 0xff); }
  std::uint64_t image_id() const { return dst_id >> 8; }
};

inline Header decode_header(std::span<const std::uint8_t, k_header_size> bytes) {
  Header h;
  std::memcpy(&h.cmd, bytes.data(), 4);
  std::memcpy(&h.nr_pages, bytes.data() + 8, 8);
  std::memcpy(&h.vaddr, bytes.data() + 16, 8);
  std::memcpy(&h.dst_id, bytes.data() + 24, 8);
  return h;
}

inline void encode_header(const Header& h, std::span<std::uint8_t, k_header_size> out) {
  std::memset(out.data(), 0, k_header_size);
  std::memcpy(out.data(), &h.cmd, 4);
  std::memcpy(out.data() + 8, &h.nr_pages, 8);
  std::memcpy(out.data() + 16, &h.vaddr, 8);
  std::memcpy(out.data() + 24, &h.dst_id, 8);
}

inline std::uint64_t make_dst_id(std::uint32_t type, std::uint64_t id) {
  return (id << 8) | type;
}

// A readable name of a command ("ADD_F", "GET", "0x99").
std::string command_name(std::uint32_t command);

// The image names CRIU uses for a destination: "pagemap-<pid>.img" or
// "pagemap-shmem-<id>.img"; empty for an unknown type.
std::string pagemap_name(std::uint32_t type, std::uint64_t id);

} // namespace stasis::store::page_server
