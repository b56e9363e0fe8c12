#include "store/manifest.hpp"

#include <set>

#include <nlohmann/json.hpp>

namespace stasis::store {

using nlohmann::json;

namespace {
constexpr int k_format = 1;
}

bool valid_job_name(std::string_view job) {
  if (job.empty() || job.size() >= 128 || job.front() == '.') {
    return false;
  }
  for (char c : job) {
    bool good = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '@';
    if (!good) {
      return false;
    }
  }
  return true;
}

bool valid_file_name(std::string_view name) {
  return !name.empty() && name.size() <= k_max_file_name && name != "." && name != ".." &&
         name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

std::string manifest_to_json(const Manifest& m) {
  json j;
  j["format"] = k_format;
  j["job"] = m.job;
  j["id"] = m.id;
  j["previous"] = m.previous ? json(*m.previous) : json(nullptr);
  j["created"] = m.created.time_since_epoch().count();
  j["policy_fingerprint"] = m.policy_fingerprint;
  j["criu_version"] = m.criu_version;
  j["kernel"] = m.kernel;
  j["cpu"] = m.cpu;
  j["target"] = m.target;
  j["imported_from"] = m.imported_from;
  j["stats"] = {{"frozen_usec", m.stats.frozen_usec},
                {"memdump_usec", m.stats.memdump_usec},
                {"memwrite_usec", m.stats.memwrite_usec},
                {"pages_scanned", m.stats.pages_scanned},
                {"pages_written", m.stats.pages_written}};
  j["logical_bytes"] = m.logical_bytes;
  j["stored_bytes"] = m.stored_bytes;
  json files = json::array();
  for (const auto& f : m.files) {
    json lists = json::array();
    for (const auto& h : f.lists) {
      lists.push_back(to_hex(h));
    }
    files.push_back(
        {{"name", f.name}, {"mode", f.mode}, {"size", f.size}, {"lists", lists}});
  }
  j["files"] = std::move(files);
  j["digest"] = to_hex(sha256(j.dump()));
  return j.dump(1) + "\n";
}

Result<Manifest> manifest_from_json(std::string_view text) {
  if (text.size() > k_max_manifest_bytes) {
    return make_error("manifest has {} bytes, more than the {} a manifest may have",
                      text.size(), k_max_manifest_bytes);
  }
  // Values nested too deep are discarded as they are parsed (nothing deep is
  // ever built, dumped or destroyed) and the manifest is refused.
  bool too_deep = false;
  json::parser_callback_t bound = [&too_deep](int depth, json::parse_event_t, json&) {
    if (depth > k_max_manifest_depth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  json j = json::parse(text, bound, false);
  if (too_deep) {
    return make_error("manifest is nested deeper than {} levels", k_max_manifest_depth);
  }
  if (j.is_discarded() || !j.is_object()) {
    return make_error("manifest is not valid JSON");
  }
  try {
    if (j.value("format", 0) != k_format) {
      return make_error("manifest has unsupported format {}", j.value("format", 0));
    }
    auto digest = j.at("digest").get<std::string>();
    j.erase("digest");
    if (to_hex(sha256(j.dump())) != digest) {
      return make_error("manifest is damaged (digest mismatch)");
    }
    Manifest m;
    m.job = j.at("job").get<std::string>();
    m.id = j.at("id").get<std::uint64_t>();
    if (!j.at("previous").is_null()) {
      m.previous = j.at("previous").get<std::uint64_t>();
    }
    m.created = std::chrono::sys_seconds{
        std::chrono::seconds{j.at("created").get<std::int64_t>()}};
    m.policy_fingerprint = j.value("policy_fingerprint", "");
    m.criu_version = j.value("criu_version", "");
    m.kernel = j.value("kernel", "");
    m.cpu = j.value("cpu", "");
    m.target = j.value("target", "");
    m.imported_from = j.value("imported_from", "");
    const auto& s = j.at("stats");
    m.stats = {s.value("frozen_usec", std::uint64_t{0}),
               s.value("memdump_usec", std::uint64_t{0}),
               s.value("memwrite_usec", std::uint64_t{0}),
               s.value("pages_scanned", std::uint64_t{0}),
               s.value("pages_written", std::uint64_t{0})};
    m.logical_bytes = j.at("logical_bytes").get<std::uint64_t>();
    m.stored_bytes = j.at("stored_bytes").get<std::uint64_t>();
    std::set<std::string> names;
    for (const auto& f : j.at("files")) {
      FileRecord rec;
      rec.name = f.at("name").get<std::string>();
      rec.mode = f.at("mode").get<std::uint32_t>();
      rec.size = f.at("size").get<std::uint64_t>();
      if (!valid_file_name(rec.name)) {
        return make_error("manifest names an invalid file '{}'", rec.name);
      }
      if (!names.insert(rec.name).second) {
        return make_error("manifest names the file {} twice", rec.name);
      }
      for (const auto& h : f.at("lists")) {
        auto hash = hash_from_hex(h.get<std::string>());
        if (!hash) {
          return make_error("manifest has a bad chunk list hash in file {}", rec.name);
        }
        rec.lists.push_back(*hash);
      }
      m.files.push_back(std::move(rec));
    }
    if (!valid_job_name(m.job)) {
      return make_error("manifest has an invalid job name '{}'", m.job);
    }
    return m;
  } catch (const json::exception& e) {
    return make_error("manifest is malformed: {}", e.what());
  }
}

} // namespace stasis::store
