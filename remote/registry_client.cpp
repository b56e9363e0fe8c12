#include "remote/registry_client.hpp"

#include "remote/base64.hpp"
#include "store/hash.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

namespace stasis::remote {
namespace {

constexpr std::string_view k_manifest_type = "application/vnd.oci.image.manifest.v1+json";

// The registry's error code and message from an error body, shortened.
std::string registry_error(const HttpResponse& r) {
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  std::string out;
  if (!doc.is_discarded() && doc.is_object() && doc.contains("errors") &&
      doc["errors"].is_array() && !doc["errors"].empty() &&
      doc["errors"][0].is_object()) {
    const auto& e = doc["errors"][0];
    out = e.value("code", std::string()) + ": " + e.value("message", std::string());
  }
  if (out.size() > 200) {
    out.resize(200);
  }
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) {
      c = ' ';
    }
  }
  return out;
}

// The URL of the next page in a Link header (<url>; rel="next").
std::string next_link(const std::string& link) {
  if (link.find("rel=\"next\"") == std::string::npos) {
    return "";
  }
  auto open = link.find('<');
  auto close = link.find('>');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return "";
  }
  return link.substr(open + 1, close - open - 1);
}

} // namespace

std::string url_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string digest_of(std::span<const std::uint8_t> data) {
  return "sha256:" + store::to_hex(store::sha256(data));
}

bool valid_digest(std::string_view digest) {
  if (!digest.starts_with("sha256:") || digest.size() != 7 + 64) {
    return false;
  }
  for (char c : digest.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

RegistryClient::RegistryClient(Reference ref, const ClientOptions& options)
    : m_ref(std::move(ref)), m_credentials(options.credentials),
      m_base((options.plain_http ? "http://" : "https://") + m_ref.registry),
      m_http(options.ca_pem, options.plain_http, options.timeout, options.cancelled) {}

std::string RegistryClient::url(const std::string& path) const {
  return m_base + "/v2/" + m_ref.repository + path;
}

Unexpected<Error> RegistryClient::failure(std::string_view what,
                                          const HttpResponse& response) const {
  auto detail = registry_error(response);
  return make_error("registry {} refused to {} in {}: HTTP {}{}{}", m_ref.registry, what,
                    m_ref.repository, response.status, detail.empty() ? "" : " ", detail);
}

Result<HttpResponse> RegistryClient::send(HttpRequest request) {
  const bool ours = request.url.starts_with(m_base + "/");
  for (int attempt = 0;; ++attempt) {
    HttpRequest req = request;
    if (ours && !m_authorization.empty()) {
      req.headers.push_back(m_authorization);
    }
    auto r = m_http.perform(req);
    if (!r) {
      return make_error("cannot reach registry {}: {}", m_ref.registry,
                        r.error().message);
    }
    if (r->status != 401 || !ours) {
      return r;
    }
    if (attempt == 2) {
      return make_error("registry {} refused the credentials of user '{}'",
                        m_ref.registry, m_credentials ? m_credentials->username : "");
    }
    STASIS_TRY(answer(*r));
  }
}

Result<void> RegistryClient::ping() {
  auto r = STASIS_TRY(send(HttpRequest("GET", m_base + "/v2/")));
  if (r.status != 200) {
    return failure("answer /v2/", r);
  }
  return ok();
}

Result<std::optional<std::uint64_t>>
RegistryClient::blob_size(const std::string& digest) {
  auto r = STASIS_TRY(send(HttpRequest("HEAD", url("/blobs/" + digest), 1 << 20, true)));
  if (r.status == 404) {
    return std::optional<std::uint64_t>{};
  }
  if (r.status != 200) {
    return failure("say whether it has blob " + digest, r);
  }
  std::uint64_t size = 0;
  auto length = r.header("content-length");
  auto [p, ec] = std::from_chars(length.data(), length.data() + length.size(), size);
  if (ec != std::errc{} || p != length.data() + length.size()) {
    return make_error("registry {} gave no size for blob {}", m_ref.registry, digest);
  }
  return std::optional<std::uint64_t>{size};
}

Result<void> RegistryClient::upload_blob(const std::string& digest,
                                         std::span<const std::uint8_t> data,
                                         const std::string& mount_from) {
  std::string start = url("/blobs/uploads/");
  if (!mount_from.empty()) {
    start += "?mount=" + url_escape(digest) + "&from=" + url_escape(mount_from);
  }
  auto r = STASIS_TRY(send(HttpRequest("POST", start)));
  if (r.status == 201 && !mount_from.empty()) {
    return ok();
  }
  if (r.status != 202) {
    return failure("start an upload of blob " + digest, r);
  }
  std::string location = r.header("location");
  if (location.empty()) {
    return make_error("registry {} started an upload without a Location", m_ref.registry);
  }
  if (location.starts_with("/")) {
    location = m_base + location;
  }
  location += location.find('?') == std::string::npos ? "?" : "&";
  location += "digest=" + url_escape(digest);
  HttpRequest put("PUT", location);
  put.body = data;
  put.headers.push_back("Content-Type: application/octet-stream");
  auto done = STASIS_TRY(send(put));
  if (done.status != 201) {
    return failure("take blob " + digest, done);
  }
  return ok();
}

Result<std::string> RegistryClient::get_blob(const std::string& digest,
                                             std::size_t max_bytes) {
  auto r = STASIS_TRY(send(HttpRequest("GET", url("/blobs/" + digest), max_bytes, true)));
  if (r.status != 200) {
    return failure("give blob " + digest, r);
  }
  if (digest_of(r.body) != digest) {
    return make_error("blob {} of {} is damaged: its content does not match its digest",
                      digest, where());
  }
  return std::move(r.body);
}

Result<std::string> RegistryClient::get_blob_range(const std::string& digest,
                                                   std::uint64_t offset,
                                                   std::uint64_t length) {
  HttpRequest req("GET", url("/blobs/" + digest), static_cast<std::size_t>(length), true);
  req.range = {offset, offset + length - 1};
  auto r = STASIS_TRY(send(req));
  if (r.status != 206) {
    return failure(fmt::format("give bytes {}+{} of blob {}", offset, length, digest), r);
  }
  if (r.body.size() != length) {
    return make_error("registry {} gave {} bytes of blob {} for a range of {}",
                      m_ref.registry, r.body.size(), digest, length);
  }
  return std::move(r.body);
}

Result<std::optional<FetchedManifest>>
RegistryClient::get_manifest(const std::string& reference) {
  HttpRequest req("GET", url("/manifests/" + reference), k_max_oci_manifest_bytes);
  req.headers.push_back(fmt::format("Accept: {}", k_manifest_type));
  auto r = STASIS_TRY(send(req));
  if (r.status == 404) {
    return std::optional<FetchedManifest>{};
  }
  if (r.status != 200) {
    return failure("give manifest " + reference, r);
  }
  FetchedManifest m{std::move(r.body), ""};
  m.digest = digest_of(m.body);
  if (valid_digest(reference) && m.digest != reference) {
    return make_error(
        "manifest {} of {} is damaged: its content does not match its digest", reference,
        where());
  }
  return std::optional<FetchedManifest>{std::move(m)};
}

Result<std::string> RegistryClient::put_manifest(const std::string& reference,
                                                 const std::string& body) {
  HttpRequest req("PUT", url("/manifests/" + reference));
  req.body = {reinterpret_cast<const std::uint8_t*>(body.data()), body.size()};
  req.headers.push_back(fmt::format("Content-Type: {}", k_manifest_type));
  auto r = STASIS_TRY(send(req));
  if (r.status != 201) {
    return failure("take manifest " + reference, r);
  }
  return digest_of(body);
}

Result<void> RegistryClient::delete_manifest(const std::string& digest) {
  auto r = STASIS_TRY(send(HttpRequest("DELETE", url("/manifests/" + digest))));
  if (r.status != 202 && r.status != 200) {
    return failure("delete manifest " + digest, r);
  }
  return ok();
}

Result<std::vector<std::string>> RegistryClient::list_tags() {
  std::vector<std::string> tags;
  std::string next = url("/tags/list?n=1000");
  while (!next.empty()) {
    auto r = STASIS_TRY(send(HttpRequest("GET", next, 8 << 20)));
    if (r.status == 404) {
      return tags;
    }
    if (r.status != 200) {
      return failure("list its tags", r);
    }
    auto doc = nlohmann::json::parse(r.body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return make_error("registry {} sent a tag list that is not JSON", m_ref.registry);
    }
    if (doc.contains("tags") && doc["tags"].is_array()) {
      for (const auto& t : doc["tags"]) {
        if (t.is_string() && valid_tag(t.get<std::string>())) {
          tags.push_back(t.get<std::string>());
        }
      }
    }
    if (tags.size() > k_max_tags) {
      return make_error("{} has more than {} tags", where(), k_max_tags);
    }
    next = next_link(r.header("link"));
    if (next.starts_with("/")) {
      next = m_base + next;
    } else if (!next.empty() && !next.starts_with(m_base + "/")) {
      return make_error("registry {} sent a tag page link to another host",
                        m_ref.registry);
    }
  }
  return tags;
}

} // namespace stasis::remote
