#include "policy/keys.hpp"

#include <algorithm>

namespace stasis::policy {

namespace spec {

namespace {

ValuePtr make(ValueSpec value) {
  return std::make_shared<const ValueSpec>(std::move(value));
}

ValueSpec of(ValueKind kind) {
  ValueSpec value;
  value.kind = kind;
  return value;
}

} // namespace

ValuePtr boolean() {
  return make(of(ValueKind::Bool));
}
ValuePtr integer(std::int64_t min, std::int64_t max) {
  auto value = of(ValueKind::Integer);
  value.min = min;
  value.max = max;
  return make(std::move(value));
}
ValuePtr string(std::string pattern, std::string pattern_doc) {
  auto value = of(ValueKind::String);
  value.pattern = std::move(pattern);
  value.pattern_doc = std::move(pattern_doc);
  return make(std::move(value));
}
ValuePtr path() {
  return make(of(ValueKind::Path));
}
ValuePtr regex() {
  return make(of(ValueKind::Regex));
}
ValuePtr duration() {
  return make(of(ValueKind::Duration));
}
ValuePtr size() {
  return make(of(ValueKind::Size));
}
ValuePtr calendar() {
  return make(of(ValueKind::Calendar));
}
ValuePtr enumeration(std::vector<std::string> allowed) {
  auto value = of(ValueKind::Enum);
  value.allowed = std::move(allowed);
  return make(std::move(value));
}
ValuePtr list(ValuePtr element, std::size_t min_items) {
  auto value = of(ValueKind::List);
  value.element = std::move(element);
  value.min_items = min_items;
  return make(std::move(value));
}
ValuePtr map(ValuePtr element) {
  auto value = of(ValueKind::Map);
  value.element = std::move(element);
  return make(std::move(value));
}
ValuePtr section(std::vector<KeySpec> keys, bool exactly_one, bool atomic) {
  auto value = of(ValueKind::Section);
  value.keys = std::make_shared<const std::vector<KeySpec>>(std::move(keys));
  value.exactly_one = exactly_one;
  value.atomic = atomic;
  return make(std::move(value));
}
ValuePtr argv() {
  auto value = of(ValueKind::Argv);
  value.min_items = 1;
  return make(std::move(value));
}
ValuePtr name_list() {
  return make(of(ValueKind::NameList));
}

} // namespace spec

std::vector<KeySpec> target_keys() {
  using namespace spec;
  auto req = [](std::string name, ValuePtr value, std::string doc,
                std::string origin = {}) {
    return KeySpec{std::move(name),  std::move(value), nullptr, std::move(doc), true,
                   std::move(origin)};
  };
  auto opt = [](std::string name, ValuePtr value, std::string doc,
                std::string origin = {}) {
    return KeySpec{std::move(name), std::move(value), nullptr, std::move(doc),
                   false,           std::move(origin)};
  };
  auto process = section({
      opt("exe", regex(), "Regular expression the executable path must match."),
      opt("cmdline", regex(),
          "Regular expression the command line (arguments joined by spaces) must match."),
      opt("user", string("^([a-z_][a-z0-9_.-]*\\$?|[0-9]+)$", "a user name or uid"),
          "The process must run as this user."),
  });
  auto runc = section({
      req("id", string("^[A-Za-z0-9][A-Za-z0-9_.-]*$", "a runc container id"),
          "Container id.", "runc checkpoint/restore CONTAINER-ID"),
      opt("root", path(), "runc state directory (default /run/runc).", "runc --root"),
      opt("bundle", path(), "OCI bundle used on restore.", "runc restore --bundle"),
  });
  auto lxc = section({
      req("name", string("^[A-Za-z0-9][A-Za-z0-9_.-]*$", "an LXC container name"),
          "Container name.", "lxc-checkpoint -n/--name"),
      opt("lxcpath", path(), "Container path.", "lxc-checkpoint -P/--lxcpath"),
      opt("rcfile", path(), "Configuration file.", "lxc-checkpoint --rcfile"),
  });
  return {
      opt("pid", integer(1, 4194304), "Process id of the tree's root.", "criu -t/--tree"),
      opt("pidfile", path(), "File holding the root's process id, read at run time."),
      opt("process", process,
          "Find the root by executable and/or command line at run time; exactly one "
          "process tree root must match."),
      opt("cgroup",
          string("^/([^/]+(/[^/]+)*)?$", "an absolute cgroup path such as "
                                         "/system.slice/web.service"),
          "Cgroup path (relative to the cgroup mount) whose processes form the tree."),
      opt("systemd-unit",
          string("^[A-Za-z0-9:_.\\\\@-]+\\.(service|scope)$",
                 "a unit name such as web.service"),
          "systemd service or scope; its MainPID (from systemd over D-Bus) is the root."),
      opt("runc", runc, "A runc container."),
      opt("lxc", lxc, "An LXC container."),
      opt("podman",
          string("^[A-Za-z0-9][A-Za-z0-9_.-]*$", "a podman container name or id"),
          "A podman container, by name or id.", "podman container checkpoint NAME"),
  };
}

const KeySpec* find_key(const ValueSpec& section, std::string_view name) {
  if (!section.keys) {
    return nullptr;
  }
  for (const auto& key : *section.keys) {
    if (key.name == name) {
      return &key;
    }
  }
  return nullptr;
}

std::vector<std::string> key_names(const ValueSpec& section) {
  std::vector<std::string> names;
  if (section.keys) {
    for (const auto& key : *section.keys) {
      names.push_back(key.name);
    }
  }
  return names;
}

namespace {

ValuePtr without(const std::vector<KeySpec>& keys, std::vector<std::string> removed) {
  std::vector<KeySpec> kept;
  for (const auto& key : keys) {
    if (std::find(removed.begin(), removed.end(), key.name) == removed.end()) {
      KeySpec copy = key;
      copy.required = false;
      kept.push_back(std::move(copy));
    }
  }
  return spec::section(std::move(kept));
}

Language build_language() {
  using namespace spec;
  Language language;
  const auto jobs = job_keys();
  language.job = section(jobs);
  language.template_ = without(jobs, {"name", "use", "formerly"});
  language.defaults = without(jobs, {"name", "use", "formerly", "target", "description"});
  language.file = section({
      KeySpec{
          "version", integer(1, 1), nullptr, "Format version of the file: 1.", true, {}},
      KeySpec{"defaults",
              language.defaults,
              nullptr,
              "Settings for every job of this file (jobs and templates win).",
              false,
              {}},
      KeySpec{"templates",
              map(language.template_),
              nullptr,
              "Named partial jobs that jobs of any file apply with `use`.",
              false,
              {}},
      KeySpec{"jobs", list(language.job), nullptr, "The checkpoint jobs.", false, {}},
  });
  return language;
}

} // namespace

const Language& language() {
  static const Language instance = build_language();
  return instance;
}

} // namespace stasis::policy
