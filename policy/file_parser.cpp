#include "policy/file_parser.hpp"

#include "policy/pattern.hpp"

#include <fmt/format.h>

namespace stasis::policy::detail {

namespace {

// Limits that keep hostile input from exhausting the parser (yaml-cpp
// recurses once per nesting level).
constexpr std::size_t k_max_file_size = k_max_policy_file_size;
constexpr int k_max_flow_depth = 64;

// Returns the 1-based line where '[' and '{' nest deeper than the limit, or 0.
// Brackets inside quotes count too: a generous over-estimate.
int too_deep_line(const std::string& text) {
  int depth = 0;
  int line = 1;
  for (const char c : text) {
    if (c == '\n') {
      ++line;
    } else if (c == '[' || c == '{') {
      if (++depth > k_max_flow_depth) {
        return line;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return 0;
}

// Returns the 1-based line of a "---" that starts a second document, or 0.
int second_document_line(const std::string& text) {
  bool content = false;
  int line = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    const std::string_view row(text.data() + start, end - start);
    ++line;
    const bool marker = row.starts_with("---") && (row.size() == 3 || row[3] == ' ' ||
                                                   row[3] == '\t' || row[3] == '\r');
    if (marker && content) {
      return line;
    }
    if (!marker && !row.empty() && row[0] != '#' && row[0] != '%' && row[0] != '\r') {
      content = true;
    }
    start = end + 1;
  }
  return 0;
}

void parse_templates(YamlWalker& walker, const YAML::Node& node, ParsedFile& parsed) {
  if (node.IsNull()) {
    return;
  }
  if (!node.IsMap()) {
    walker.error(node, fmt::format("'templates' must be a mapping of template names to "
                                   "settings, got {}",
                                   describe_node(node)));
    return;
  }
  static const Pattern name_pattern = *Pattern::compile(k_job_name_pattern);
  for (const auto& [key, value] : walker.entries(node, "'templates'")) {
    const std::string name = key.Scalar();
    if (!name_pattern.full_match(name)) {
      walker.error(key,
                   fmt::format("template name '{}' must be lower-case letters, digits, "
                               "'-' and '_' (at most 63)",
                               name));
      continue;
    }
    ParsedTemplate parsed_template{name, {}, walker.location(key)};
    parsed_template.fragment.locations[""] = parsed_template.at;
    walker.set_root_name(fmt::format("template '{}'", name));
    auto converted =
        walker.walk(value, *language().template_, "", parsed_template.fragment.locations);
    if (converted.is_object()) {
      parsed_template.fragment.value = std::move(converted);
    }
    parsed.templates.push_back(std::move(parsed_template));
  }
}

void parse_jobs(YamlWalker& walker, const YAML::Node& node, ParsedFile& parsed) {
  if (node.IsNull()) {
    return;
  }
  if (!node.IsSequence()) {
    walker.error(node,
                 fmt::format("'jobs' must be a list of jobs (each entry starting with "
                             "'- name: ...'), got {}",
                             describe_node(node)));
    return;
  }
  for (const auto& entry : node) {
    ParsedJob job;
    job.at = walker.location(entry, walker.location(node));
    job.fragment.locations[""] = job.at;
    walker.set_root_name(entry.IsMap() && entry["name"] && entry["name"].IsScalar()
                             ? fmt::format("job '{}'", entry["name"].Scalar())
                             : std::string("the job"));
    auto converted = walker.walk(entry, *language().job, "", job.fragment.locations);
    if (!converted.is_object()) {
      continue;
    }
    job.fragment.value = std::move(converted);
    parsed.jobs.push_back(std::move(job));
  }
}

} // namespace

ParsedFile parse_file(const PolicySource& source, Diagnostics& diagnostics) {
  ParsedFile parsed{source.filename, std::nullopt, {}, {}};
  YamlWalker walker(source.filename, diagnostics);
  // YAML::LoadAll of yaml-cpp 0.7 loops forever on some inputs (a lone ","):
  // load one document and look for a second one ourselves.
  if (source.text.size() > k_max_file_size) {
    walker.error(
        Location{source.filename, 0, 0},
        fmt::format("the file is larger than {} bytes: split it", k_max_file_size));
    return parsed;
  }
  if (const int line = too_deep_line(source.text); line > 0) {
    walker.error(Location{source.filename, line, 1},
                 fmt::format("brackets nest deeper than {} levels", k_max_flow_depth));
    return parsed;
  }
  YAML::Node root;
  try {
    root = YAML::Load(source.text);
  } catch (const YAML::Exception& e) {
    walker.error(Location{source.filename, e.mark.line + 1, e.mark.column + 1},
                 fmt::format("YAML syntax error: {}", e.msg));
    return parsed;
  }
  if (root.IsNull()) {
    walker.error(Location{source.filename, 0, 0},
                 "the file is empty: a policy file starts with 'version: 1'");
    return parsed;
  }
  if (const int line = second_document_line(source.text); line > 0) {
    walker.error(
        Location{source.filename, line, 1},
        "a policy file holds one YAML document: remove this '---' and what follows, "
        "or move it to its own file");
  }
  if (!root.IsMap()) {
    walker.error(root, fmt::format("a policy file must be a mapping with 'version', "
                                   "'jobs', ...; got {}",
                                   describe_node(root)));
    return parsed;
  }
  const ValueSpec& file_spec = *language().file;
  const auto names = key_names(file_spec);
  std::optional<YAML::Node> version_node, defaults_node, templates_node, jobs_node;
  for (const auto& [key, value] : walker.entries(root, "the file")) {
    const std::string name = key.Scalar();
    if (name == "version") {
      version_node = value;
    } else if (name == "defaults") {
      defaults_node = value;
    } else if (name == "templates") {
      templates_node = value;
    } else if (name == "jobs") {
      jobs_node = value;
    } else {
      walker.error(key, fmt::format("unknown top-level key '{}'{}", name,
                                    did_you_mean(name, names)));
    }
  }
  if (!version_node) {
    walker.error(root, "missing 'version: 1' (the format version of this file)");
    return parsed;
  }
  if (!version_node->IsScalar() || version_node->Scalar() != "1" ||
      version_node->Tag() != "?") {
    walker.error(*version_node, fmt::format("unsupported policy format version {}: this "
                                            "stasis reads 'version: 1'",
                                            describe_node(*version_node)));
    return parsed;
  }
  if (defaults_node) {
    Fragment defaults;
    defaults.locations[""] = walker.location(*defaults_node);
    walker.set_root_name("'defaults'");
    auto converted =
        walker.walk(*defaults_node, *language().defaults, "", defaults.locations);
    if (converted.is_object()) {
      defaults.value = std::move(converted);
      parsed.defaults = std::move(defaults);
    }
  }
  if (templates_node) {
    parse_templates(walker, *templates_node, parsed);
  }
  if (jobs_node) {
    parse_jobs(walker, *jobs_node, parsed);
  }
  return parsed;
}

} // namespace stasis::policy::detail
