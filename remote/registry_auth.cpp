// Answering a registry's authentication challenge: Basic with the
// credentials, or a Bearer token from the realm the registry names.
#include "remote/base64.hpp"
#include "remote/registry_client.hpp"

#include <nlohmann/json.hpp>

namespace stasis::remote {

std::string Challenge::param(std::string_view name) const {
  for (const auto& [k, v] : params) {
    if (k == name) {
      return v;
    }
  }
  return "";
}

std::optional<Challenge> parse_challenge(std::string_view header) {
  Challenge c;
  auto space = header.find(' ');
  auto scheme = header.substr(0, space);
  for (char ch : scheme) {
    c.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  if (c.scheme.empty()) {
    return std::nullopt;
  }
  if (space == std::string_view::npos) {
    return c;
  }
  std::string_view rest = header.substr(space + 1);
  while (!rest.empty()) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == ',')) {
      rest.remove_prefix(1);
    }
    auto eq = rest.find('=');
    if (eq == std::string_view::npos) {
      break;
    }
    std::string key;
    for (char ch : rest.substr(0, eq)) {
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    rest.remove_prefix(eq + 1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      rest.remove_prefix(1);
      while (!rest.empty() && rest.front() != '"') {
        if (rest.front() == '\\' && rest.size() > 1) {
          rest.remove_prefix(1);
        }
        value += rest.front();
        rest.remove_prefix(1);
      }
      if (rest.empty()) {
        return std::nullopt;
      }
      rest.remove_prefix(1);
    } else {
      auto end = rest.find(',');
      value = std::string(rest.substr(0, end));
      rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    }
    c.params.emplace_back(std::move(key), std::move(value));
  }
  return c;
}

Result<void> RegistryClient::answer(const HttpResponse& response) {
  auto challenge = parse_challenge(response.header("www-authenticate"));
  const bool had_auth = !m_authorization.empty();
  if (!m_credentials) {
    return make_error("registry {} needs credentials for {} (none were given)",
                      m_ref.registry, m_ref.repository);
  }
  if (!challenge || (challenge->scheme != "basic" && challenge->scheme != "bearer")) {
    return make_error("registry {} asks for an authentication scheme stasis does not "
                      "speak",
                      m_ref.registry);
  }
  const std::string basic =
      "Authorization: Basic " +
      base64_encode(m_credentials->username + ":" + m_credentials->password);
  if (challenge->scheme == "basic") {
    if (had_auth) {
      return make_error("registry {} refused the credentials of user '{}'",
                        m_ref.registry, m_credentials->username);
    }
    m_authorization = basic;
    return ok();
  }
  // Bearer: a token from the realm for the scope asked, with the credentials.
  auto realm = challenge->param("realm");
  if (!realm.starts_with("https://") && !realm.starts_with("http://")) {
    return make_error("registry {} names a token service that is not a URL",
                      m_ref.registry);
  }
  std::string token_url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  token_url += "service=" + url_escape(challenge->param("service"));
  if (auto scope = challenge->param("scope"); !scope.empty()) {
    token_url += "&scope=" + url_escape(scope);
  }
  HttpRequest req("GET", token_url, k_max_token_bytes);
  req.headers.push_back(basic);
  auto r = STASIS_TRY(m_http.perform(req));
  if (r.status == 401 || r.status == 403) {
    return make_error("registry {} refused the credentials of user '{}' (token service)",
                      m_ref.registry, m_credentials->username);
  }
  if (r.status != 200) {
    return make_error("the token service of registry {} answered HTTP {}", m_ref.registry,
                      r.status);
  }
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  std::string token;
  if (!doc.is_discarded() && doc.is_object()) {
    for (const char* key : {"token", "access_token"}) {
      if (doc.contains(key) && doc[key].is_string()) {
        token = doc[key].get<std::string>();
        break;
      }
    }
  }
  if (token.empty() || token.find_first_of("\r\n") != std::string::npos) {
    return make_error("the token service of registry {} gave no token", m_ref.registry);
  }
  const std::string bearer = "Authorization: Bearer " + token;
  if (had_auth && m_authorization == bearer) {
    return make_error("registry {} refused the credentials of user '{}'", m_ref.registry,
                      m_credentials->username);
  }
  m_authorization = bearer;
  return ok();
}

} // namespace stasis::remote
