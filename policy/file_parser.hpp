// Internal: one policy file -> validated fragments (defaults, templates, jobs)
// before templates are applied.
#pragma once

#include "policy/loader.hpp"
#include "policy/merge.hpp"

#include <optional>
#include <string>
#include <vector>

namespace stasis::policy::detail {

struct ParsedTemplate {
  std::string name;
  Fragment fragment;
  Location at;
};

struct ParsedJob {
  Fragment fragment; // locations[""] is the job entry
  Location at;
};

struct ParsedFile {
  std::string file;
  std::optional<Fragment> defaults;
  std::vector<ParsedTemplate> templates;
  std::vector<ParsedJob> jobs;
};

// Parses and checks a file against the key table; errors go to `diagnostics`.
ParsedFile parse_file(const PolicySource& source, Diagnostics& diagnostics);

} // namespace stasis::policy::detail
