// Descriptions of the language derived from the key table (keys.hpp).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace stasis::policy {

// Returns a JSON Schema (draft-07) of a policy file, usable by
// yaml-language-server (`# yaml-language-server: $schema=...`).
nlohmann::json json_schema();

// Returns the key reference of stasis.policy(5) in AsciiDoc: every key with
// its type, default, CRIU/runc/LXC origin and documentation.
std::string key_reference_asciidoc();

// Describes a value type for people: "duration", "list of path", ...
std::string describe_type(const struct ValueSpec& spec);

} // namespace stasis::policy
