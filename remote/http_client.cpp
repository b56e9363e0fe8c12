#include "remote/http_client.hpp"

#include <algorithm>
#include <cstring>
#include <curl/curl.h>
#include <mutex>

namespace stasis::remote {
namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Most header bytes one response may have.
constexpr std::size_t k_max_header_bytes = 256 << 10;

struct Transfer {
  HttpResponse* response = nullptr;
  const std::function<bool()>* cancelled = nullptr;
  bool aborted = false;
  std::size_t max_body = 0;
  bool too_big = false;
  std::size_t header_bytes = 0;
  std::span<const std::uint8_t> upload;
  std::size_t uploaded = 0;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * n;
  if (t->response->body.size() + len > t->max_body) {
    t->too_big = true;
    return 0;
  }
  t->response->body.append(data, len);
  return len;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * n;
  t->header_bytes += len;
  if (t->header_bytes > k_max_header_bytes) {
    return 0;
  }
  std::string_view line(data, len);
  if (line.starts_with("HTTP/")) {
    // A new response (after a redirect or a 100 Continue): forget the last.
    t->response->headers.clear();
    return len;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->response->headers.emplace_back(lowercase(trim(line.substr(0, colon))),
                                      std::string(trim(line.substr(colon + 1))));
  }
  return len;
}

std::size_t on_upload(char* buffer, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = std::min(size * n, t->upload.size() - t->uploaded);
  std::memcpy(buffer, t->upload.data() + t->uploaded, len);
  t->uploaded += len;
  return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancelled != nullptr && *t->cancelled && (*t->cancelled)()) {
    t->aborted = true;
    return 1;
  }
  return 0;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

} // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) {
      return v;
    }
  }
  return "";
}

std::vector<std::string> HttpResponse::all_headers(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k == name) {
      out.push_back(v);
    }
  }
  return out;
}

struct HttpClient::Impl {
  CURL* curl = nullptr;
  std::string ca_pem;
  bool plain_http = false;
  std::chrono::seconds timeout{60};
  std::function<bool()> cancelled;
  ~Impl() {
    if (curl != nullptr) {
      curl_easy_cleanup(curl);
    }
  }
};

HttpClient::HttpClient(std::string ca_pem, bool allow_plain_http,
                       std::chrono::seconds timeout, std::function<bool()> cancelled)
    : m_impl(std::make_unique<Impl>()) {
  global_init();
  m_impl->ca_pem = std::move(ca_pem);
  m_impl->plain_http = allow_plain_http;
  m_impl->timeout = timeout;
  m_impl->cancelled = std::move(cancelled);
}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

Result<HttpResponse> HttpClient::perform(const HttpRequest& request) {
  if (m_impl->curl == nullptr) {
    m_impl->curl = curl_easy_init();
    if (m_impl->curl == nullptr) {
      return make_error("cannot start an HTTP client (curl_easy_init failed)");
    }
  }
  CURL* c = m_impl->curl;
  curl_easy_reset(c);
  HttpResponse response;
  Transfer t;
  t.response = &response;
  t.max_body = request.max_response_bytes;
  t.upload = request.body;
  t.cancelled = &m_impl->cancelled;
  if (m_impl->cancelled && m_impl->cancelled()) {
    return make_error("{} {} cancelled", request.method, request.url);
  }
  const char* protocols = m_impl->plain_http ? "http,https" : "https";
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(m_impl->timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "stasis/0.1");
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  if (request.follow_redirects) {
    // curl does not send our Authorization header to another host.
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  }
  curl_blob ca{};
  if (!m_impl->ca_pem.empty()) {
    ca.data = m_impl->ca_pem.data();
    ca.len = m_impl->ca_pem.size();
    ca.flags = CURL_BLOB_NOCOPY;
    // Replaces the default bundle for this handle: the system store is still
    // read from its directory (CURLOPT_CAPATH keeps its default).
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "PUT" || request.method == "POST" ||
             request.method == "PATCH") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (request.method == "DELETE") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    return make_error("unsupported HTTP method {}", request.method);
  }
  std::string range;
  if (request.range) {
    range = std::to_string(request.range->first) + "-" +
            std::to_string(request.range->second);
    curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  }
  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) {
    headers = curl_slist_append(headers, h.c_str());
  }
  // No "Expect: 100-continue" round trip for uploads.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (t.aborted) {
    return make_error("{} {} cancelled", request.method, request.url);
  }
  if (t.too_big) {
    return make_error("the response to {} {} is larger than the {} bytes taken",
                      request.method, request.url, request.max_response_bytes);
  }
  if (rc != CURLE_OK) {
    return make_error("{} {} failed: {}", request.method, request.url,
                      error[0] != '\0' ? error : curl_easy_strerror(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

} // namespace stasis::remote
