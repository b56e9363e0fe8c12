// A small libcurl wrapper: one easy handle (connections are reused), bounded
// response bodies, TLS with the system CA store plus an optional CA bundle.
#pragma once

#include "util/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace stasis::remote {

// One request.
struct HttpRequest {
  std::string method = "GET"; // GET, HEAD, PUT, POST, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers; // "Name: value"
  std::span<const std::uint8_t> body;
  // Inclusive byte range to ask for (Range: bytes=first-last).
  std::optional<std::pair<std::uint64_t, std::uint64_t>> range;
  // Largest response body taken; a longer one fails the request.
  std::size_t max_response_bytes = 1 << 20;
  // Follow redirects (GET and HEAD of blobs: registries send them to storage).
  bool follow_redirects = false;

  HttpRequest() = default;
  HttpRequest(std::string method_, std::string url_, std::size_t max_response = 1 << 20,
              bool follow = false)
      : method(std::move(method_)), url(std::move(url_)),
        max_response_bytes(max_response), follow_redirects(follow) {}
};

// One response; header names are lowercase.
struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first header of that (lowercase) name; "" when absent.
  std::string header(std::string_view name) const;
  // Every header of that name.
  std::vector<std::string> all_headers(std::string_view name) const;
};

class HttpClient {
public:
  // cancelled (may be empty) is asked while a request runs; true aborts it.
  HttpClient(std::string ca_pem, bool allow_plain_http, std::chrono::seconds timeout,
             std::function<bool()> cancelled = {});
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  // Performs the request; an error when no response came (the message has
  // curl's reason, never a header value).
  Result<HttpResponse> perform(const HttpRequest& request);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace stasis::remote
