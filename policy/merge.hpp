// Applying file defaults and templates to jobs, and filling in the defaults of
// the key table, on the canonical JSON form of jobs.
#pragma once

#include "policy/keys.hpp"
#include "policy/yaml_walker.hpp"

#include <nlohmann/json.hpp>

namespace stasis::policy {

// A validated part of a job (a job entry, a template or a file's defaults):
// canonical JSON and where each key was written.
struct Fragment {
  nlohmann::json value = nlohmann::json::object();
  LocationMap locations;
};

// Lays `over` onto `base`: sections merge key by key (atomic sections such as
// target and schedule are replaced whole), every other value is replaced.
void merge_into(Fragment& base, const Fragment& over, const ValueSpec& spec);

// Adds the table's default for every absent key that has one, recursively
// (also inside list entries).
void fill_defaults(nlohmann::json& value, const ValueSpec& spec);

} // namespace stasis::policy
