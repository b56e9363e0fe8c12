#include "policy/merge.hpp"

namespace stasis::policy {

using nlohmann::json;

namespace {

bool below(const std::string& path, const std::string& prefix) {
  if (!path.starts_with(prefix)) {
    return false;
  }
  return path.size() == prefix.size() || path[prefix.size()] == '.' ||
         path[prefix.size()] == '[';
}

void replace_locations(LocationMap& base, const LocationMap& over,
                       const std::string& prefix) {
  std::erase_if(base, [&](const auto& entry) { return below(entry.first, prefix); });
  for (auto it = over.lower_bound(prefix);
       it != over.end() && it->first.starts_with(prefix); ++it) {
    if (below(it->first, prefix)) {
      base.insert(*it);
    }
  }
}

void merge_value(json& base, const json& over, const ValueSpec& spec,
                 const std::string& path, LocationMap& base_locations,
                 const LocationMap& over_locations) {
  for (const auto& item : over.items()) {
    const KeySpec* key = find_key(spec, item.key());
    const std::string sub = child_path(path, item.key());
    if (key != nullptr && key->value->kind == ValueKind::Section && !key->value->atomic &&
        base.contains(item.key()) && base[item.key()].is_object()) {
      merge_value(base[item.key()], item.value(), *key->value, sub, base_locations,
                  over_locations);
      if (auto it = over_locations.find(sub); it != over_locations.end()) {
        base_locations[sub] = it->second;
      }
      continue;
    }
    base[item.key()] = item.value();
    replace_locations(base_locations, over_locations, sub);
  }
}

} // namespace

void merge_into(Fragment& base, const Fragment& over, const ValueSpec& spec) {
  merge_value(base.value, over.value, spec, "", base.locations, over.locations);
  if (auto it = over.locations.find(""); it != over.locations.end()) {
    base.locations[""] = it->second;
  }
}

void fill_defaults(json& value, const ValueSpec& spec) {
  if (spec.kind == ValueKind::List && value.is_array() && spec.element) {
    for (auto& element : value) {
      fill_defaults(element, *spec.element);
    }
    return;
  }
  if (spec.kind != ValueKind::Section || !value.is_object() || !spec.keys) {
    return;
  }
  for (const auto& key : *spec.keys) {
    if (!value.contains(key.name) && !key.default_value.is_null()) {
      value[key.name] = key.default_value;
    }
    if (value.contains(key.name)) {
      fill_defaults(value[key.name], *key.value);
    }
  }
}

} // namespace stasis::policy
