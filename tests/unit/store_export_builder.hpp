// Hand-made export files (docs/export-format.md) for the import tests: what
// someone who writes the file themselves can put into it.
#pragma once

#include "store/chunk_list.hpp"
#include "store/codec.hpp"
#include "store/fs_util.hpp"
#include "store/hash.hpp"
#include "store/manifest.hpp"

#include <cstring>
#include <string>
#include <vector>

namespace stasis::store::testing {

class ExportBuilder {
public:
  // The manifest record, as text (any JSON, valid or not).
  void manifest_text(std::string text) { m_manifest = std::move(text); }
  // The manifest record of m (with a correct digest).
  void manifest(const Manifest& m) { m_manifest = manifest_to_json(m); }

  // A blob record of raw (zstd-compressed when that helps); returns its hash.
  // Blobs follow every chunk list in the file (lists() come first).
  Hash blob(std::span<const std::uint8_t> raw) { return record(m_blobs, raw); }
  Hash blob(std::string_view raw) {
    return blob({reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()});
  }
  // A chunk list blob naming refs; returns its hash.
  Hash list(const std::vector<ChunkRef>& refs) {
    return record(m_lists, encode_chunk_list(refs));
  }

  // The whole file: header, manifest, blobs, end record with the checksum.
  std::string bytes() const {
    std::string out = "STASISXP";
    append(out, std::uint32_t{1});
    append(out, std::uint32_t{0});
    append(out, std::uint8_t{1});
    append(out, static_cast<std::uint64_t>(m_manifest.size()));
    out += m_manifest;
    out += m_lists;
    out += m_blobs;
    append(out, std::uint8_t{3});
    append(out, m_count);
    Hash digest = sha256(out);
    out.append(reinterpret_cast<const char*>(digest.bytes.data()), 32);
    return out;
  }
  void write(const fs::path& file) const { (void)atomic_write_file(file, bytes()); }

private:
  template <typename T>
  static void append(std::string& out, const T& v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  Hash record(std::string& out, std::span<const std::uint8_t> raw) {
    Hash hash = sha256(raw);
    std::vector<std::uint8_t> stored;
    Codec codec = compress(raw, stored);
    if (codec == Codec::Raw) {
      stored.assign(raw.begin(), raw.end());
    }
    append(out, std::uint8_t{2});
    out.append(reinterpret_cast<const char*>(hash.bytes.data()), 32);
    append(out, static_cast<std::uint8_t>(codec));
    append(out, static_cast<std::uint32_t>(raw.size()));
    append(out, static_cast<std::uint32_t>(stored.size()));
    out.append(reinterpret_cast<const char*>(stored.data()), stored.size());
    ++m_count;
    return hash;
  }

  std::string m_manifest;
  std::string m_lists;
  std::string m_blobs;
  std::uint64_t m_count = 0;
};

// A manifest of job/id with the usual fields set and no files.
inline Manifest plain_manifest(const std::string& job = "theirs", std::uint64_t id = 7) {
  Manifest m;
  m.job = job;
  m.id = id;
  m.created = std::chrono::sys_seconds{std::chrono::seconds{1700000000}};
  m.criu_version = "4.2.1";
  return m;
}

// Compact JSON nested depth arrays deep ("[[[...]]]").
inline std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

} // namespace stasis::store::testing
