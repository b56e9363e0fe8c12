// References (HOST[:PORT]/REPOSITORY[:TAG]) and containers-auth.json(5).
#include "remote/base64.hpp"
#include "remote/remote.hpp"

#include <nlohmann/json.hpp>

namespace stasis::remote {
namespace {

bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One path component: [a-z0-9]+ separated by '.', '_', '__' or '-'s.
bool valid_component(std::string_view c) {
  if (c.empty() || !lower_alnum(c.front()) || !lower_alnum(c.back())) {
    return false;
  }
  for (std::size_t i = 0; i < c.size(); ++i) {
    char ch = c[i];
    if (lower_alnum(ch) || ch == '-') {
      continue;
    }
    if (ch == '.' || ch == '_') {
      // '.', '_' or "__" between alphanumerics.
      if (ch == '_' && i + 1 < c.size() && c[i + 1] == '_') {
        ++i;
      }
      if (!lower_alnum(c[i + 1])) {
        return false;
      }
      continue;
    }
    return false;
  }
  return true;
}

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > k_max_registry_name) {
    return false;
  }
  for (char c : host) {
    bool good = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' || c == '[' ||
                c == ']';
    if (!good) {
      return false;
    }
  }
  return true;
}

} // namespace

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > k_max_tag_length) {
    return false;
  }
  for (std::size_t i = 0; i < tag.size(); ++i) {
    char c = tag[i];
    bool good = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || (i > 0 && (c == '.' || c == '-'));
    if (!good) {
      return false;
    }
  }
  return true;
}

std::string Reference::to_string() const {
  return tag.empty() ? registry + "/" + repository
                     : registry + "/" + repository + ":" + tag;
}

Result<Reference> parse_reference(std::string_view text) {
  if (text.size() > k_max_reference_length) {
    return make_error("reference has {} characters; at most {}", text.size(),
                      k_max_reference_length);
  }
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return make_error(
        "reference '{}' names no registry (write HOST[:PORT]/REPOSITORY[:TAG])", text);
  }
  Reference ref;
  ref.registry = std::string(text.substr(0, slash));
  if (ref.registry.find('.') == std::string::npos &&
      ref.registry.find(':') == std::string::npos && ref.registry != "localhost") {
    return make_error("reference '{}' names no registry: '{}' is not a host (it needs a "
                      "'.' or a ':port', or is localhost)",
                      text, ref.registry);
  }
  if (!valid_host(ref.registry)) {
    return make_error("reference '{}': '{}' is not a valid registry host[:port]", text,
                      ref.registry);
  }
  std::string_view rest = text.substr(slash + 1);
  if (rest.find('@') != std::string_view::npos) {
    return make_error(
        "reference '{}': a digest (@sha256:...) is not taken here; name a tag", text);
  }
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!valid_tag(ref.tag)) {
      return make_error(
          "reference '{}': tag '{}' is not valid (use [A-Za-z0-9_][A-Za-z0-9._-], "
          "at most {} characters)",
          text, ref.tag, k_max_tag_length);
    }
  }
  if (rest.empty() || rest.size() > k_max_repository_length) {
    return make_error("reference '{}': the repository must have 1 to {} characters", text,
                      k_max_repository_length);
  }
  std::size_t start = 0;
  while (start <= rest.size()) {
    auto end = rest.find('/', start);
    auto part = rest.substr(start, end == std::string_view::npos ? end : end - start);
    if (!valid_component(part)) {
      return make_error(
          "reference '{}': repository component '{}' is not valid (lowercase "
          "letters and digits, separated by '.', '_', '__' or '-')",
          text, part);
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  ref.repository = std::string(rest);
  return ref;
}

Result<std::optional<Credentials>>
credentials_from_auth_json(std::string_view json_text, const std::string& registry) {
  if (json_text.size() > k_max_auth_json_bytes) {
    return make_error("the auth file has {} bytes; at most {}", json_text.size(),
                      k_max_auth_json_bytes);
  }
  auto doc = nlohmann::json::parse(json_text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error("the auth file is not a JSON object");
  }
  auto auths = doc.find("auths");
  if (auths == doc.end()) {
    return std::optional<Credentials>{};
  }
  if (!auths->is_object()) {
    return make_error("the auth file's \"auths\" is not an object");
  }
  // Keys are "host[:port]" or, as docker writes them, with a scheme and a path.
  const nlohmann::json* entry = nullptr;
  for (const auto& [key, value] : auths->items()) {
    std::string_view k = key;
    for (std::string_view scheme : {"https://", "http://"}) {
      if (k.starts_with(scheme)) {
        k.remove_prefix(scheme.size());
      }
    }
    k = k.substr(0, k.find('/'));
    if (k == registry) {
      entry = &value;
      break;
    }
  }
  if (entry == nullptr) {
    return std::optional<Credentials>{};
  }
  if (!entry->is_object()) {
    return make_error("the auth file's entry for {} is not an object", registry);
  }
  Credentials creds;
  if (auto auth = entry->find("auth");
      auth != entry->end() && auth->is_string() && !auth->get<std::string>().empty()) {
    auto decoded = base64_decode(auth->get<std::string>());
    if (!decoded) {
      return make_error("the auth file's entry for {} has an \"auth\" that is not base64",
                        registry);
    }
    auto colon = decoded->find(':');
    if (colon == std::string::npos) {
      return make_error("the auth file's entry for {} has an \"auth\" that is not "
                        "base64(user:password)",
                        registry);
    }
    creds.username = decoded->substr(0, colon);
    creds.password = decoded->substr(colon + 1);
  }
  if (auto token = entry->find("identitytoken");
      token != entry->end() && token->is_string() && !token->get<std::string>().empty()) {
    creds.password = token->get<std::string>();
  }
  if (creds.username.empty() && creds.password.empty()) {
    return make_error("the auth file's entry for {} has neither \"auth\" nor "
                      "\"identitytoken\"",
                      registry);
  }
  return std::optional<Credentials>{std::move(creds)};
}

} // namespace stasis::remote
