#include "policy/schema.hpp"

#include "policy/keys.hpp"

#include <fmt/format.h>

namespace stasis::policy {

using nlohmann::json;

namespace {

constexpr const char* k_duration_pattern =
    "^(0|( *[0-9]+ *(ms|msec|s|sec|second|seconds|m|min|minute|minutes|h|hr|hour|hours|d|"
    "day|days|w|week|weeks))+ *)$";
constexpr const char* k_size_pattern =
    "^[0-9]+(\\.[0-9]+)? ?([KkMmGgTtPp]([Ii][Bb]|[Bb])?|[Bb])?$";

json schema_of(const ValueSpec& spec);

json section_schema(const ValueSpec& spec, bool allow_null) {
  json properties = json::object();
  json required = json::array();
  for (const auto& key : *spec.keys) {
    json property = schema_of(*key.value);
    std::string doc = key.doc;
    if (!key.origin.empty()) {
      doc += " [" + key.origin + "]";
    }
    property["description"] = doc;
    if (!key.default_value.is_null()) {
      property["default"] = key.default_value;
    }
    properties[key.name] = std::move(property);
    if (key.required) {
      required.push_back(key.name);
    }
  }
  json schema = {{"type", allow_null ? json::array({"object", "null"}) : json("object")},
                 {"additionalProperties", false},
                 {"properties", std::move(properties)}};
  if (!required.empty()) {
    schema["required"] = std::move(required);
  }
  if (spec.exactly_one) {
    schema["type"] = "object";
    schema["minProperties"] = 1;
    schema["maxProperties"] = 1;
  }
  return schema;
}

json schema_of(const ValueSpec& spec) {
  switch (spec.kind) {
  case ValueKind::Bool:
    return {{"type", "boolean"}};
  case ValueKind::Integer:
    return {{"type", "integer"}, {"minimum", spec.min}, {"maximum", spec.max}};
  case ValueKind::String:
    if (spec.pattern.empty()) {
      return {{"type", "string"}};
    }
    return {{"type", "string"}, {"pattern", spec.pattern}};
  case ValueKind::Path:
    return {{"type", "string"}, {"pattern", "^/"}};
  case ValueKind::Regex:
    return {{"type", "string"}, {"format", "regex"}};
  case ValueKind::Duration:
    return {{"anyOf", json::array({{{"type", "string"}, {"pattern", k_duration_pattern}},
                                   {{"const", 0}}})}};
  case ValueKind::Size:
    return {{"anyOf", json::array({{{"type", "integer"}, {"minimum", 0}},
                                   {{"type", "string"}, {"pattern", k_size_pattern}}})}};
  case ValueKind::Calendar:
    return {{"type", "string"}, {"minLength", 1}};
  case ValueKind::Enum:
    return {{"type", "string"}, {"enum", spec.allowed}};
  case ValueKind::List: {
    json schema = {{"type", "array"}, {"items", schema_of(*spec.element)}};
    if (spec.min_items > 0) {
      schema["minItems"] = spec.min_items;
    }
    return schema;
  }
  case ValueKind::Map:
    return {{"type", json::array({"object", "null"})},
            {"additionalProperties", schema_of(*spec.element)}};
  case ValueKind::Section:
    return section_schema(spec, true);
  case ValueKind::Argv:
    return {{"type", "array"},
            {"minItems", 1},
            {"items", json::array({{{"type", "string"}, {"pattern", "^/"}}})},
            {"additionalItems", {{"type", "string"}}}};
  case ValueKind::NameList: {
    json name = {{"type", "string"}, {"pattern", k_job_name_pattern}};
    return {{"anyOf", json::array({name, {{"type", "array"}, {"items", name}}})}};
  }
  }
  return json::object();
}

} // namespace

json json_schema() {
  json schema = section_schema(*language().file, false);
  schema["$schema"] = "http://json-schema.org/draft-07/schema#";
  schema["$id"] = "https://stasis.invalid/schema/policy-v1.json";
  schema["title"] = "stasis policy file (version 1)";
  schema["description"] = "Checkpoint jobs for stasisd; see stasis.policy(5). Generated "
                          "by `stasisctl schema`.";
  schema["properties"]["version"] = {{"const", 1}, {"description", "Format version: 1."}};
  return schema;
}

std::string describe_type(const ValueSpec& spec) {
  switch (spec.kind) {
  case ValueKind::Bool:
    return "boolean";
  case ValueKind::Integer:
    return spec.min == spec.max ? fmt::format("integer {}", spec.min)
                                : fmt::format("integer {}..{}", spec.min, spec.max);
  case ValueKind::String:
    return spec.pattern_doc.empty() ? "string" : "string (" + spec.pattern_doc + ")";
  case ValueKind::Path:
    return "absolute path";
  case ValueKind::Regex:
    return "regular expression (ECMAScript)";
  case ValueKind::Duration:
    return "duration";
  case ValueKind::Size:
    return "size";
  case ValueKind::Calendar:
    return "calendar event";
  case ValueKind::Enum:
    return fmt::format("one of {}", fmt::join(spec.allowed, ", "));
  case ValueKind::List:
    return "list of " + describe_type(*spec.element);
  case ValueKind::Map:
    return "mapping of name to " + describe_type(*spec.element);
  case ValueKind::Section:
    return spec.exactly_one ? "mapping with exactly one key" : "mapping";
  case ValueKind::Argv:
    return "command (list of strings, the first an absolute path)";
  case ValueKind::NameList:
    return "name or list of names";
  }
  return "value";
}

namespace {

void reference(const ValueSpec& spec, const std::string& prefix, std::string& out) {
  for (const auto& key : *spec.keys) {
    const std::string name = prefix.empty() ? key.name : prefix + "." + key.name;
    out += fmt::format("*{}*::\n", name);
    out += fmt::format("  Type: +{}+", describe_type(*key.value));
    if (key.required) {
      out += "; required";
    } else if (!key.default_value.is_null() && !key.default_value.is_object()) {
      out += fmt::format("; default: `+{}+`", key.default_value.dump());
    }
    out += ".";
    if (!key.origin.empty()) {
      out += fmt::format(" Replaces: +{}+.", key.origin);
    }
    // Passthrough (+...+) keeps '*' and '_' in the text from becoming markup.
    out += fmt::format("\n  +{}+\n\n", key.doc);
    const ValueSpec* inner = key.value.get();
    std::string inner_prefix = name;
    if (inner->kind == ValueKind::List && inner->element->kind == ValueKind::Section) {
      inner = inner->element.get();
      inner_prefix = name + "[]";
    }
    if (inner->kind == ValueKind::Section && name.find("hooks.") != 0) {
      reference(*inner, inner_prefix, out);
    }
  }
}

} // namespace

std::string key_reference_asciidoc() {
  std::string out;
  reference(*language().job, "", out);
  out += "*hooks.POINT[]*::\n  Each hook command (for every hook point above) has "
         "these keys:\n\n";
  const auto hooks = hook_keys();
  reference(*hooks.front().value->element, "hooks.POINT[]", out);
  return out;
}

} // namespace stasis::policy
