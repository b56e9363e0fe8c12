// The OCI distribution API (v2) for one repository: blobs, manifests, tags,
// with Basic and Bearer token authentication as the registry asks.
#pragma once

#include "remote/http_client.hpp"
#include "remote/remote.hpp"

#include <optional>

namespace stasis::remote {

// Largest manifest taken from a registry.
inline constexpr std::size_t k_max_oci_manifest_bytes = 4 << 20;
// Most tags a repository listing may have.
inline constexpr std::size_t k_max_tags = 100000;
// Largest token response of a token server.
inline constexpr std::size_t k_max_token_bytes = 64 << 10;

// "sha256:<hex>" of data.
std::string digest_of(std::span<const std::uint8_t> data);
inline std::string digest_of(std::string_view data) {
  return digest_of({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
}
// Percent-encodes everything but unreserved characters (RFC 3986).
std::string url_escape(std::string_view s);
// True for "sha256:" and 64 lowercase hex digits.
bool valid_digest(std::string_view digest);

// A manifest as fetched: its body and digest (sha256 of the body).
struct FetchedManifest {
  std::string body;
  std::string digest;
};

// A WWW-Authenticate challenge: scheme (lowercase) and parameters.
struct Challenge {
  std::string scheme;
  std::vector<std::pair<std::string, std::string>> params;
  std::string param(std::string_view name) const;
};
// Parses the first challenge of a WWW-Authenticate value.
std::optional<Challenge> parse_challenge(std::string_view header);

class RegistryClient {
public:
  RegistryClient(Reference ref, const ClientOptions& options);

  const Reference& reference() const { return m_ref; }
  // "registry/repository", for messages.
  std::string where() const { return m_ref.registry + "/" + m_ref.repository; }

  // Checks that the registry answers and accepts the credentials.
  Result<void> ping();
  // The blob's size when the repository has it.
  Result<std::optional<std::uint64_t>> blob_size(const std::string& digest);
  // Uploads a blob (POST then PUT ?digest=); with mount_from, asks the registry
  // to mount it from that repository first.
  Result<void> upload_blob(const std::string& digest, std::span<const std::uint8_t> data,
                           const std::string& mount_from = "");
  // Fetches a whole blob of at most max_bytes and checks its digest.
  Result<std::string> get_blob(const std::string& digest, std::size_t max_bytes);
  // Fetches bytes [offset, offset + length) of a blob (no digest check: the
  // caller checks what it decodes).
  Result<std::string> get_blob_range(const std::string& digest, std::uint64_t offset,
                                     std::uint64_t length);
  // A manifest by tag or digest; nullopt when the repository has none.
  Result<std::optional<FetchedManifest>> get_manifest(const std::string& reference);
  // Stores a manifest under a tag or its digest; returns its digest.
  Result<std::string> put_manifest(const std::string& reference, const std::string& body);
  Result<void> delete_manifest(const std::string& digest);
  // Every tag of the repository (pages followed); none when it does not exist.
  Result<std::vector<std::string>> list_tags();

private:
  // Sends a request to the registry (the Authorization header only goes to
  // the registry itself), answering one authentication challenge.
  Result<HttpResponse> send(HttpRequest request);
  Result<void> answer(const HttpResponse& response);
  std::string url(const std::string& path) const;
  // An error for an unexpected response, with the registry's own code.
  Unexpected<Error> failure(std::string_view what, const HttpResponse& response) const;

  Reference m_ref;
  std::optional<Credentials> m_credentials;
  std::string m_base; // https://registry
  std::string m_authorization;
  HttpClient m_http;
};

} // namespace stasis::remote
