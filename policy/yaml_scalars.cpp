// Scalar values of the policy language: booleans, integers, strings, paths,
// regular expressions, durations, sizes, calendar events and enumerations.
#include "policy/calendar.hpp"
#include "policy/duration.hpp"
#include "policy/pattern.hpp"
#include "policy/yaml_walker.hpp"

#include <charconv>
#include <map>

#include <fmt/format.h>

namespace stasis::policy {

using nlohmann::json;

namespace {

// True when a plain (unquoted) scalar reads as something other than a string
// in YAML 1.1 or 1.2 (numbers, booleans, null): such values must be quoted to
// be strings, so that every YAML tool reads the file the same way.
bool looks_non_string(const std::string& text) {
  static const Pattern pattern = *Pattern::compile(
      "^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|"
      "ON|off|Off|OFF|y|Y|n|N|[-+]?[0-9][0-9_]*(\\.[0-9_]*)?([eE][-+]?[0-9]+)?|"
      "[-+]?\\.[0-9]+([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o[0-7]+|[-+]?\\.(inf|Inf|"
      "INF)|\\.(nan|NaN|NAN)|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\\.[0-9_]*)?)$");
  return text.empty() || pattern.full_match(text);
}

// True when text matches a key table pattern (each compiled once per thread;
// the table's patterns are constants that compile).
bool matches_key_pattern(const std::string& pattern, const std::string& text) {
  thread_local std::map<std::string, Pattern> cache;
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    auto compiled = Pattern::compile(pattern);
    if (!compiled) {
      return false;
    }
    it = cache.emplace(pattern, std::move(*compiled)).first;
  }
  return it->second.full_match(text);
}

bool is_plain(const YAML::Node& node) {
  return node.Tag() == "?";
}

} // namespace

json YamlWalker::walk_scalar(const YAML::Node& node, const ValueSpec& spec,
                             const std::string& path) {
  if (!node.IsScalar()) {
    error(node,
          fmt::format("'{}' must be a single value, got {}", path, describe_node(node)));
    return nullptr;
  }
  const std::string& text = node.Scalar();
  const bool plain = is_plain(node);
  switch (spec.kind) {
  case ValueKind::Bool:
    if (plain && (text == "true" || text == "false")) {
      return text == "true";
    }
    error(node,
          fmt::format("'{}' must be true or false, got {}", path, describe_node(node)));
    return nullptr;
  case ValueKind::Integer: {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (!plain || ec != std::errc() || end != text.data() + text.size()) {
      error(node, fmt::format("'{}' must be a whole number, got {}", path,
                              describe_node(node)));
      return nullptr;
    }
    if (value < spec.min || value > spec.max) {
      const std::string bound = spec.min == spec.max ? fmt::format("must be {}", spec.min)
                                : value < spec.min
                                    ? fmt::format("must be at least {}", spec.min)
                                    : fmt::format("must be at most {}", spec.max);
      error(node, fmt::format("'{}' {}, got {}", path, bound, value));
      return nullptr;
    }
    return value;
  }
  case ValueKind::Size: {
    if (plain && !text.empty() &&
        text.find_first_not_of("0123456789") == std::string::npos) {
      // A bare number of bytes.
    } else if (plain && looks_non_string(text)) {
      error(node, fmt::format("'{}' must be a size such as 512M or 2GiB, got {}", path,
                              describe_node(node)));
      return nullptr;
    }
    auto size = parse_size(text);
    if (!size) {
      error(node, fmt::format("'{}': {}", path, size.error().message));
      return nullptr;
    }
    return *size;
  }
  default:
    break;
  }

  // The remaining kinds are strings.
  if (plain && looks_non_string(text) &&
      !(spec.kind == ValueKind::Duration && text == "0")) {
    error(node,
          fmt::format("'{}' must be a string, got {}; quote it if you mean the text "
                      "(\"{}\")",
                      path, text.empty() ? "nothing" : "the non-string value " + text,
                      text));
    return nullptr;
  }
  switch (spec.kind) {
  case ValueKind::Path:
    if (!text.starts_with("/")) {
      error(node, fmt::format("'{}' must be an absolute path, got '{}'", path, text));
      return nullptr;
    }
    return text;
  case ValueKind::Regex:
    if (auto compiled = Pattern::compile(text); !compiled) {
      error(node, fmt::format("'{}' is not a valid regular expression '{}': {}", path,
                              text.substr(0, 80), compiled.error().message));
      return nullptr;
    }
    return text;
  case ValueKind::Duration: {
    auto duration = parse_duration(text);
    if (!duration) {
      error(node, fmt::format("'{}': {}", path, duration.error().message));
      return nullptr;
    }
    return format_duration(*duration);
  }
  case ValueKind::Calendar: {
    auto calendar = CalendarSpec::parse(text);
    if (!calendar) {
      error(node, fmt::format("'{}': {}", path, calendar.error().message));
      return nullptr;
    }
    return calendar->normalized();
  }
  case ValueKind::Enum:
    for (const auto& allowed : spec.allowed) {
      if (allowed == text) {
        return text;
      }
    }
    error(node, fmt::format("'{}' has unknown value '{}'{}", path, text,
                            did_you_mean(text, spec.allowed)));
    return nullptr;
  case ValueKind::String:
    if (!spec.pattern.empty() && !matches_key_pattern(spec.pattern, text)) {
      error(node, fmt::format("'{}' must be {}, got '{}'", path, spec.pattern_doc, text));
      return nullptr;
    }
    return text;
  default:
    error(node, fmt::format("'{}' has an unexpected value", path));
    return nullptr;
  }
}

} // namespace stasis::policy
