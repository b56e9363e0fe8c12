// The one description of the policy language: every key, its type, default,
// allowed values and documentation. The YAML walker (validation and
// did-you-mean), the JSON Schema (`stasisctl schema`) and the man page's key
// list are all derived from this table, so they cannot drift apart.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stasis::policy {

struct KeySpec;

// The kind of value a key takes.
enum class ValueKind {
  Bool,     // true or false (only these spellings)
  Integer,  // a whole number within [min, max]
  String,   // any string; optionally matching `pattern`
  Path,     // an absolute path
  Regex,    // a regular expression (RE2 syntax, see pattern.hpp)
  Duration, // "90s", "1h30m" (see duration.hpp)
  Size,     // "10M", "1.5GiB" or a number of bytes (see duration.hpp)
  Calendar, // an OnCalendar expression (see calendar.hpp)
  Enum,     // one of `allowed`
  List,     // a sequence of `element`
  Map,      // a mapping from strings to `element`
  Section,  // a mapping with the fixed `keys`
  Argv,     // a command as a list of arguments, the first an absolute path
  NameList, // a name or a list of names
};

// The type of a value (recursively, for lists, maps and sections).
struct ValueSpec {
  ValueKind kind = ValueKind::String;
  std::vector<std::string> allowed; // Enum
  std::int64_t min = 0;             // Integer
  std::int64_t max = std::numeric_limits<std::int32_t>::max();
  std::string pattern;                              // String: RE2 regex
  std::string pattern_doc;                          // String: what the pattern means
  std::shared_ptr<const ValueSpec> element;         // List, Map
  std::shared_ptr<const std::vector<KeySpec>> keys; // Section
  bool exactly_one = false;  // Section: exactly one of the keys must be given
  bool atomic = false;       // Section: templates replace it as a whole
  std::size_t min_items = 0; // List, Map
};

using ValuePtr = std::shared_ptr<const ValueSpec>;

// One key of a section.
struct KeySpec {
  std::string name;
  ValuePtr value;
  // The effective value when the key is absent (in canonical JSON form);
  // null means "unset" (no default; the key stays absent).
  nlohmann::json default_value;
  std::string doc;
  bool required = false;
  // Where CRIU, runc or LXC spell this option (for the man page), e.g.
  // "criu --shell-job; runc --shell-job".
  std::string origin;
};

// The whole language.
struct Language {
  ValuePtr file;      // a policy file (version, defaults, templates, jobs)
  ValuePtr job;       // one entry of `jobs`
  ValuePtr template_; // one entry of `templates` (job keys minus name and use)
  ValuePtr defaults;  // `defaults` (template keys minus target and description)
};

// Returns the language description (built once).
const Language& language();

// Returns the key `name` of a section spec, or nullptr.
const KeySpec* find_key(const ValueSpec& section, std::string_view name);

// Returns the names of a section's keys in table order.
std::vector<std::string> key_names(const ValueSpec& section);

// Names of the hook points, in the order they run.
const std::vector<std::string>& hook_point_names();

// Job names: safe as file names and (escaped) D-Bus object path elements.
inline constexpr const char* k_job_name_pattern = "^[a-z0-9][a-z0-9_-]{0,62}$";
// An OCI repository: HOST[:PORT]/PATH, the host with a '.' or a port or
// "localhost" (as docker and podman tell a registry from a path), the path
// components as the OCI distribution spec allows.
inline constexpr const char* k_registry_repository_pattern =
    "^(localhost|[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+:[0-9]{1,5}|"
    "localhost:[0-9]{1,5}|[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+:[0-9]{1,5})"
    "(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)+$";

// Builders used by the key tables.
namespace spec {
ValuePtr boolean();
ValuePtr integer(std::int64_t min, std::int64_t max);
ValuePtr string(std::string pattern = {}, std::string pattern_doc = {});
ValuePtr path();
ValuePtr regex();
ValuePtr duration();
ValuePtr size();
ValuePtr calendar();
ValuePtr enumeration(std::vector<std::string> allowed);
ValuePtr list(ValuePtr element, std::size_t min_items = 0);
ValuePtr map(ValuePtr element);
ValuePtr section(std::vector<KeySpec> keys, bool exactly_one = false,
                 bool atomic = false);
ValuePtr argv();
ValuePtr name_list();
} // namespace spec

// Key tables by area (keys_*.cpp).
std::vector<KeySpec> criu_keys();
std::vector<KeySpec> restore_keys();
std::vector<KeySpec> target_keys();
std::vector<KeySpec> hook_keys();
std::vector<KeySpec> job_keys();

} // namespace stasis::policy
