#include "remote/format.hpp"

#include "remote/registry_client.hpp"
#include "store/transfer.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace stasis::remote {
namespace {

using nlohmann::json;

constexpr char k_index_magic[8] = {'S', 'T', 'A', 'S', 'I', 'S', 'I', 'X'};
constexpr std::uint32_t k_index_version = 1;
constexpr std::size_t k_header_size = 8 + 4 + 4 + 8;
constexpr std::size_t k_bundle_record = 32 + 8;
constexpr std::size_t k_entry_record = 32 + 4 + 4 + 8 + 4 + 4;

// Writes bytes at a cursor into a buffer sized beforehand.
class Writer {
public:
  explicit Writer(std::vector<std::uint8_t>& out) : m_out(out) {}
  void bytes(const void* data, std::size_t len) {
    std::memcpy(m_out.data() + m_pos, data, len);
    m_pos += len;
  }
  template <typename T>
  void put(T v) {
    bytes(&v, sizeof(T));
  }

private:
  std::vector<std::uint8_t>& m_out;
  std::size_t m_pos = 0;
};

template <typename T>
T get(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

bool valid_origin_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.';
}

} // namespace

bool valid_origin(std::string_view origin) {
  return !origin.empty() && origin.size() <= k_max_origin_length &&
         std::all_of(origin.begin(), origin.end(), valid_origin_char);
}

std::string default_origin() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) {
    return "host";
  }
  std::string out;
  for (char* p = name; *p != '\0' && out.size() < k_max_origin_length; ++p) {
    out += valid_origin_char(*p) ? *p : '_';
  }
  return out.empty() ? "host" : out;
}

std::string checkpoint_tag(const std::string& job, const std::string& origin,
                           std::uint64_t id) {
  return fmt::format("{}-{}-{}", job, origin, id);
}

std::string latest_tag(const std::string& job) {
  return job + "-latest";
}

std::optional<TagParts> parse_checkpoint_tag(std::string_view tag) {
  auto last = tag.rfind('-');
  if (last == std::string_view::npos || last == 0) {
    return std::nullopt;
  }
  auto id_text = tag.substr(last + 1);
  TagParts parts;
  auto [p, ec] =
      std::from_chars(id_text.data(), id_text.data() + id_text.size(), parts.id);
  if (id_text.empty() || ec != std::errc{} || p != id_text.data() + id_text.size()) {
    return std::nullopt;
  }
  auto head = tag.substr(0, last);
  auto second = head.rfind('-');
  if (second == std::string_view::npos || second == 0) {
    return std::nullopt;
  }
  parts.origin = std::string(head.substr(second + 1));
  parts.job = std::string(head.substr(0, second));
  if (!valid_origin(parts.origin)) {
    return std::nullopt;
  }
  return parts;
}

const IndexEntry* RemoteIndex::find(const store::Hash& hash) const {
  auto it = std::lower_bound(
      entries.begin(), entries.end(), hash,
      [](const IndexEntry& e, const store::Hash& h) { return e.hash < h; });
  return it != entries.end() && it->hash == hash ? &*it : nullptr;
}

std::vector<std::uint8_t> encode_index(RemoteIndex index) {
  std::sort(index.entries.begin(), index.entries.end(),
            [](const IndexEntry& a, const IndexEntry& b) { return a.hash < b.hash; });
  std::vector<std::uint8_t> out(k_header_size + index.bundles.size() * k_bundle_record +
                                index.entries.size() * k_entry_record);
  Writer w(out);
  w.bytes(k_index_magic, sizeof(k_index_magic));
  w.put(k_index_version);
  w.put(static_cast<std::uint32_t>(index.bundles.size()));
  w.put(static_cast<std::uint64_t>(index.entries.size()));
  for (const auto& b : index.bundles) {
    w.bytes(b.digest.bytes.data(), b.digest.bytes.size());
    w.put(b.size);
  }
  for (const auto& e : index.entries) {
    w.bytes(e.hash.bytes.data(), e.hash.bytes.size());
    w.put(e.bundle);
    w.put(static_cast<std::uint32_t>(e.codec));
    w.put(e.offset);
    w.put(e.stored_len);
    w.put(e.raw_len);
  }
  return out;
}

Result<RemoteIndex> decode_index(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < k_header_size || std::memcmp(bytes.data(), k_index_magic, 8) != 0) {
    return make_error("the index blob is not a stasis index (bad magic)");
  }
  const auto* p = bytes.data() + 8;
  auto version = get<std::uint32_t>(p);
  auto bundles = get<std::uint32_t>(p + 4);
  auto entries = get<std::uint64_t>(p + 8);
  if (version != k_index_version) {
    return make_error("the index blob has unsupported version {}", version);
  }
  if (bundles > k_max_bundles) {
    return make_error("the index names {} bundles; at most {}", bundles, k_max_bundles);
  }
  const std::uint64_t rest = bytes.size() - k_header_size - bundles * k_bundle_record;
  if (bytes.size() < k_header_size + bundles * k_bundle_record ||
      entries != rest / k_entry_record || rest % k_entry_record != 0) {
    return make_error("the index blob's size does not match its counts");
  }
  RemoteIndex index;
  p += 16;
  for (std::uint32_t i = 0; i < bundles; ++i, p += k_bundle_record) {
    Bundle b;
    std::memcpy(b.digest.bytes.data(), p, 32);
    b.size = get<std::uint64_t>(p + 32);
    if (b.size == 0 || b.size > k_max_bundle_bytes) {
      return make_error("the index names bundle {} of {} bytes; a bundle has 1 to {}",
                        b.digest_string(), b.size, k_max_bundle_bytes);
    }
    index.bundles.push_back(b);
  }
  index.entries.reserve(entries);
  for (std::uint64_t i = 0; i < entries; ++i, p += k_entry_record) {
    IndexEntry e;
    std::memcpy(e.hash.bytes.data(), p, 32);
    e.bundle = get<std::uint32_t>(p + 32);
    auto codec = get<std::uint32_t>(p + 36);
    e.offset = get<std::uint64_t>(p + 40);
    e.stored_len = get<std::uint32_t>(p + 48);
    e.raw_len = get<std::uint32_t>(p + 52);
    const auto hex = store::to_hex(e.hash);
    if (!index.entries.empty() && !(index.entries.back().hash < e.hash)) {
      return make_error("the index is not sorted by hash (at blob {})", hex);
    }
    if (e.hash.is_zero() || e.bundle >= bundles || codec > 1) {
      return make_error("the index entry of blob {} names no bundle or codec it has",
                        hex);
    }
    e.codec = static_cast<store::Codec>(codec);
    if (e.raw_len == 0 || e.raw_len > store::k_max_export_blob_bytes ||
        e.stored_len == 0 || e.stored_len > store::k_max_export_blob_bytes) {
      return make_error(
          "the index gives blob {} {} bytes ({} stored); a blob has 1 to {}", hex,
          e.raw_len, e.stored_len, store::k_max_export_blob_bytes);
    }
    const auto size = index.bundles[e.bundle].size;
    if (e.offset > size || e.stored_len > size - e.offset) {
      return make_error("the index puts blob {} outside bundle {}", hex,
                        index.bundles[e.bundle].digest_string());
    }
    index.entries.push_back(e);
  }
  return index;
}

std::string oci_manifest_to_json(const OciManifest& m) {
  auto descriptor = [](const Descriptor& d) {
    return json{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  };
  json layers = json::array();
  for (const auto& l : m.layers) {
    layers.push_back(descriptor(l));
  }
  json j{{"schemaVersion", 2},
         {"mediaType", k_oci_manifest_type},
         {"artifactType", k_checkpoint_type},
         {"config", descriptor(m.config)},
         {"layers", std::move(layers)},
         {"annotations", m.annotations}};
  return j.dump();
}

Result<OciManifest> oci_manifest_from_json(std::string_view text,
                                           const std::string& where) {
  auto j = json::parse(text, nullptr, false);
  auto bad = [&](std::string_view why) {
    return make_error("{} is not a stasis checkpoint: {}", where, why);
  };
  if (j.is_discarded() || !j.is_object()) {
    return bad("its manifest is not JSON");
  }
  if (j.value("schemaVersion", 0) != 2) {
    return bad("its manifest's schemaVersion is not 2");
  }
  auto descriptor = [](const json& d, Descriptor& out) {
    if (!d.is_object() || !d.contains("mediaType") || !d["mediaType"].is_string() ||
        !d.contains("digest") || !d["digest"].is_string() || !d.contains("size") ||
        !d["size"].is_number_unsigned()) {
      return false;
    }
    out.media_type = d["mediaType"].get<std::string>();
    out.digest = d["digest"].get<std::string>();
    out.size = d["size"].get<std::uint64_t>();
    return valid_digest(out.digest);
  };
  OciManifest m;
  if (!j.contains("config") || !descriptor(j["config"], m.config) ||
      m.config.media_type != k_checkpoint_type) {
    return bad(fmt::format("its config is not of type {}", k_checkpoint_type));
  }
  if (!j.contains("layers") || !j["layers"].is_array() || j["layers"].empty() ||
      j["layers"].size() > k_max_layers) {
    return bad(fmt::format("it has no layers or more than {}", k_max_layers));
  }
  for (const auto& l : j["layers"]) {
    Descriptor d;
    const auto& expected = m.layers.empty() ? k_index_type : k_bundle_type;
    if (!descriptor(l, d) || d.media_type != expected) {
      return bad(fmt::format("layer {} is not a {}", m.layers.size(), expected));
    }
    m.layers.push_back(std::move(d));
  }
  if (j.contains("annotations") && j["annotations"].is_object()) {
    for (const auto& [k, v] : j["annotations"].items()) {
      if (v.is_string()) {
        m.annotations[k] = v.get<std::string>();
      }
    }
  }
  return m;
}

std::string config_to_json(const std::string& manifest_json, const std::string& origin) {
  return json{{"format", 1}, {"origin", origin}, {"manifest", manifest_json}}.dump();
}

Result<Config> config_from_json(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", 0) != 1 ||
      !j.contains("manifest") || !j["manifest"].is_string() || !j.contains("origin") ||
      !j["origin"].is_string()) {
    return make_error("the checkpoint's config blob is not a stasis config (format 1)");
  }
  return Config{j["manifest"].get<std::string>(), j["origin"].get<std::string>()};
}

} // namespace stasis::remote
