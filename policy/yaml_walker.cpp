#include "policy/yaml_walker.hpp"

#include <fmt/format.h>

namespace stasis::policy {

using nlohmann::json;

Location locate(const LocationMap& locations, std::string path) {
  while (true) {
    if (auto it = locations.find(path); it != locations.end()) {
      return it->second;
    }
    const auto cut = path.find_last_of(".[");
    if (cut == std::string::npos) {
      break;
    }
    path.resize(cut);
  }
  if (auto it = locations.find(""); it != locations.end()) {
    return it->second;
  }
  return {};
}

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

namespace {

// Keys that moved to the section of the side CRIU reads them on, with why.
std::string moved_key(const std::string& path, const std::string& name) {
  if (path == "restore" && (name == "cgroup-props" || name == "cgroup-props-file")) {
    return fmt::format("; CRIU reads cgroup properties when it dumps: write it as "
                       "'criu.{}'",
                       name);
  }
  return {};
}

} // namespace

std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
  case YAML::NodeType::Map:
    return "a mapping";
  case YAML::NodeType::Sequence:
    return "a list";
  case YAML::NodeType::Scalar:
    return fmt::format("'{}'", node.Scalar());
  default:
    return "nothing";
  }
}

Location YamlWalker::location(const YAML::Node& node, const Location& fallback) const {
  const auto mark = node.Mark();
  if (mark.line < 0) {
    return fallback.file.empty() ? Location{m_file, 0, 0} : fallback;
  }
  return Location{m_file, mark.line + 1, mark.column + 1};
}

void YamlWalker::error(const YAML::Node& node, std::string message) {
  error(location(node), std::move(message));
}

void YamlWalker::error(const Location& where, std::string message) {
  m_diagnostics.push_back(
      Diagnostic{where.file, where.line, where.column, std::move(message)});
}

std::vector<std::pair<YAML::Node, YAML::Node>>
YamlWalker::entries(const YAML::Node& mapping, const std::string& what) {
  std::vector<std::pair<YAML::Node, YAML::Node>> result;
  std::map<std::string, Location> seen;
  for (auto it = mapping.begin(); it != mapping.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      error(key, fmt::format("keys of {} must be plain names, got {}", what,
                             describe_node(key)));
      continue;
    }
    const std::string name = key.Scalar();
    const Location here = location(key);
    if (auto [pos, inserted] = seen.emplace(name, here); !inserted) {
      error(here, fmt::format("duplicate key '{}' in {} (first given at line {}:{})",
                              name, what, pos->second.line, pos->second.column));
      continue;
    }
    result.emplace_back(key, it->second);
  }
  return result;
}

json YamlWalker::walk(const YAML::Node& node, const ValueSpec& spec,
                      const std::string& path, LocationMap& locations) {
  if (m_budget == 0) {
    if (!m_budget_reported) {
      m_budget_reported = true;
      error(node, "the file expands to too many values (aliases?): simplify it");
    }
    return nullptr;
  }
  --m_budget;
  switch (spec.kind) {
  case ValueKind::Section:
    return walk_section(node, spec, path, locations);
  case ValueKind::List:
    return walk_list(node, spec, path, locations);
  case ValueKind::Map:
    return walk_map(node, spec, path, locations);
  case ValueKind::Argv:
    return walk_argv(node, path);
  case ValueKind::NameList:
    if (node.IsSequence()) {
      return walk_list(node,
                       *spec::list(spec::string(k_job_name_pattern, "a template name")),
                       path, locations);
    }
    if (auto name =
            walk_scalar(node, *spec::string(k_job_name_pattern, "a template name"), path);
        !name.is_null()) {
      return json::array({name});
    }
    return nullptr;
  default:
    return walk_scalar(node, spec, path);
  }
}

json YamlWalker::walk_section(const YAML::Node& node, const ValueSpec& spec,
                              const std::string& path, LocationMap& locations) {
  const std::string what = path.empty() ? m_root_name : "'" + path + "'";
  if (node.IsNull()) {
    return json::object();
  }
  if (!node.IsMap()) {
    error(node,
          fmt::format("{} must be a mapping of keys, got {}", what, describe_node(node)));
    return nullptr;
  }
  json result = json::object();
  const auto names = key_names(spec);
  std::vector<std::string> given;
  for (const auto& [key, value] : entries(node, what)) {
    const std::string name = key.Scalar();
    const KeySpec* key_spec = find_key(spec, name);
    if (key_spec == nullptr) {
      if (name == "<<") {
        error(key, "YAML merge keys (<<) are not supported: use templates and `use`");
      } else {
        const std::string moved = moved_key(path, name);
        error(key, fmt::format("unknown key '{}' in {}{}", name, what,
                               moved.empty() ? did_you_mean(name, names) : moved));
      }
      continue;
    }
    given.push_back(name);
    const std::string sub = child_path(path, name);
    locations[sub] = location(key);
    json converted = walk(value, *key_spec->value, sub, locations);
    if (!converted.is_null()) {
      result[name] = std::move(converted);
    }
  }
  if (spec.exactly_one && given.size() > 1) {
    error(node, fmt::format("{} gives {} targets ({}): give exactly one", what,
                            given.size(), fmt::join(given, ", ")));
  } else if (spec.exactly_one && node.size() == 0) {
    error(node, fmt::format("{} is empty: give exactly one of {}", what,
                            fmt::join(names, ", ")));
  }
  // Required keys of the job itself are checked after templates are applied.
  if (!path.empty()) {
    bool complete = true;
    for (const auto& key_spec : *spec.keys) {
      if (key_spec.required && !node[key_spec.name]) {
        error(node,
              fmt::format("{} is missing the required key '{}'", what, key_spec.name));
      }
      complete = complete && (!key_spec.required || result.contains(key_spec.name));
    }
    if (!complete) {
      return nullptr; // the errors are reported; an incomplete value is dropped
    }
  }
  return result;
}

json YamlWalker::walk_list(const YAML::Node& node, const ValueSpec& spec,
                           const std::string& path, LocationMap& locations) {
  if (!node.IsSequence()) {
    error(node, fmt::format("'{}' must be a list, got {}", path, describe_node(node)));
    return nullptr;
  }
  json result = json::array();
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string sub = fmt::format("{}[{}]", path, i);
    locations[sub] = location(node[i], location(node));
    json converted = walk(node[i], *spec.element, sub, locations);
    if (!converted.is_null()) {
      result.push_back(std::move(converted));
    }
  }
  if (node.size() < spec.min_items) {
    error(node, fmt::format("'{}' needs at least {} entries", path, spec.min_items));
  }
  return result;
}

json YamlWalker::walk_map(const YAML::Node& node, const ValueSpec& spec,
                          const std::string& path, LocationMap& locations) {
  if (node.IsNull()) {
    return json::object();
  }
  if (!node.IsMap()) {
    error(node, fmt::format("'{}' must be a mapping, got {}", path, describe_node(node)));
    return nullptr;
  }
  json result = json::object();
  for (const auto& [key, value] : entries(node, "'" + path + "'")) {
    const std::string sub = fmt::format("{}[{}]", path, key.Scalar());
    locations[sub] = location(key);
    json converted = walk(value, *spec.element, sub, locations);
    if (!converted.is_null()) {
      result[key.Scalar()] = std::move(converted);
    }
  }
  return result;
}

json YamlWalker::walk_argv(const YAML::Node& node, const std::string& path) {
  const std::string hint =
      "write the command as a list of arguments, e.g. run: [\"/usr/bin/logger\", "
      "\"done\"] "
      "(no shell is used; for one write [\"/bin/sh\", \"-c\", \"...\"])";
  if (node.IsScalar()) {
    error(node, fmt::format("'{}' is a plain string; {}", path, hint));
    return nullptr;
  }
  if (!node.IsSequence() || node.size() == 0) {
    error(node,
          fmt::format("'{}' must be a non-empty list, got {}; {}", path,
                      node.IsSequence() ? "an empty list" : describe_node(node), hint));
    return nullptr;
  }
  json result = json::array();
  for (std::size_t i = 0; i < node.size(); ++i) {
    if (!node[i].IsScalar()) {
      error(node[i], fmt::format("'{}[{}]' must be a string, got {}", path, i,
                                 describe_node(node[i])));
      return nullptr;
    }
    result.push_back(node[i].Scalar());
  }
  if (!result[0].get<std::string>().starts_with("/")) {
    error(node[0], fmt::format("'{}[0]' must be an absolute path, got '{}' (hooks do not "
                               "search PATH)",
                               path, result[0].get<std::string>()));
    return nullptr;
  }
  return result;
}

} // namespace stasis::policy
