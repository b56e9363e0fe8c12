#include "cli/inspect_text.hpp"

#include "cli/daemon_client.hpp"

#include <chrono>
#include <ctime>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace stasis::cli {

using nlohmann::json;

namespace {

// A report's value as text (reports come from stasisd or a file: any key may
// be missing or of another type).
std::string text(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) {
    return "";
  }
  const auto& v = j.at(key);
  return v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
}

std::uint64_t number(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_number_unsigned()) {
    return 0;
  }
  return j.at(key).get<std::uint64_t>();
}

const json& list(const json& j, const char* key) {
  static const json empty = json::array();
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_array()) {
    return empty;
  }
  return j.at(key);
}

// A report's RFC 3339 UTC time ("2024-05-01T10:00:00Z"); nothing when it is not one.
std::optional<manager::TimePoint> rfc3339_time(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

} // namespace

void print_inspect(const json& r, std::ostream& out) {
  if (!text(r, "file").empty()) {
    out << fmt::format("export file {} (exported from {})\n", text(r, "file"),
                       or_dash(text(r, "imported_from")));
  } else {
    out << fmt::format("checkpoint {}/{}\n", text(r, "job"), text(r, "id"));
  }
  out << fmt::format("  created   {}\n", format_time(rfc3339_time(text(r, "created"))))
      << fmt::format("  target    {}\n", or_dash(text(r, "target")))
      << fmt::format("  criu      {} (images v{}, {})\n",
                     or_dash(text(r, "criu_version")), number(r, "image_version"),
                     or_dash(text(r, "arch")))
      << fmt::format("  kernel    {}\n", or_dash(text(r, "kernel")))
      << fmt::format("  cpu       {}\n", or_dash(text(r, "cpu")));
  if (const auto& cpu = r.value("cpu_image", json()); cpu.is_object()) {
    out << fmt::format("  cpuinfo   {} family {} model {} stepping {} ({})\n",
                       text(cpu, "vendor"), number(cpu, "family"), number(cpu, "model"),
                       number(cpu, "stepping"), or_dash(text(cpu, "model_id")));
  }
  out << fmt::format("  size      {} in {} image files\n",
                     format_bytes(number(r, "logical_bytes")), number(r, "image_files"));

  out << "\nPROCESSES\n"
      << fmt::format("{:>8} {:>8} {:16} {:8} {:>6} {:>7} {:>10}  {}\n", "PID", "PPID",
                     "COMM", "STATE", "UID", "THREADS", "DUMPED", "EXE");
  for (const auto& p : list(r, "processes")) {
    out << fmt::format("{:>8} {:>8} {:16} {:8} {:>6} {:>7} {:>10}  {}\n", text(p, "pid"),
                       text(p, "ppid"), text(p, "comm"), text(p, "state"), text(p, "uid"),
                       list(p, "threads").size(), format_bytes(number(p, "dumped_bytes")),
                       or_dash(text(p, "exe")));
  }
  for (const auto& p : list(r, "processes")) {
    out << fmt::format("\nMEMORY MAP of {} ({})\n", text(p, "pid"), text(p, "comm"))
        << fmt::format("{:>33} {:4} {:>10} {:>10} {:12} {}\n", "ADDRESS", "PROT", "SIZE",
                       "DUMPED", "KIND", "PATH");
    for (const auto& m : list(p, "mappings")) {
      out << fmt::format("{:>16}-{:<16} {:4} {:>10} {:>10} {:12} {}\n", text(m, "start"),
                         text(m, "end"), text(m, "prot"), format_bytes(number(m, "size")),
                         format_bytes(number(m, "dumped_pages") * 4096), text(m, "kind"),
                         text(m, "path"));
    }
    out << fmt::format("DESCRIPTORS of {}\n", text(p, "pid"))
        << fmt::format("{:>6} {:12} {}\n", "FD", "TYPE", "TARGET");
    for (const auto& d : list(p, "descriptors")) {
      out << fmt::format("{:>6} {:12} {}\n", text(d, "fd"), text(d, "type"),
                         text(d, "target"));
    }
  }
  out << "\nFILES\n"
      << fmt::format("{:>6} {:>10} {:>10}  {}\n", "ID", "SIZE", "POS", "PATH");
  for (const auto& f : list(r, "files")) {
    out << fmt::format("{:>6} {:>10} {:>10}  {}\n", text(f, "id"),
                       format_bytes(number(f, "size")), text(f, "pos"), text(f, "path"));
  }
  out << "\nSOCKETS\n"
      << fmt::format("{:>6} {:16} {:12} {:28} {}\n", "ID", "KIND", "STATE", "LOCAL",
                     "REMOTE");
  for (const auto& s : list(r, "sockets")) {
    out << fmt::format("{:>6} {:16} {:12} {:28} {}\n", text(s, "id"), text(s, "kind"),
                       or_dash(text(s, "state")), or_dash(text(s, "local")),
                       or_dash(text(s, "remote")));
  }
}

void print_diff(const json& r, std::ostream& out) {
  out << fmt::format("diff {} {} -> {}\n", text(r, "job"), text(r, "from"),
                     text(r, "to"));
  const auto& procs = r.value("processes", json::object());
  out << fmt::format("processes: {} added, {} removed, {} changed\n",
                     list(procs, "added").size(), list(procs, "removed").size(),
                     list(procs, "changed").size());
  for (const auto& p : list(procs, "added")) {
    out << fmt::format("  + {} {} {}\n", text(p, "pid"), text(p, "comm"), text(p, "exe"));
  }
  for (const auto& p : list(procs, "removed")) {
    out << fmt::format("  - {} {} {}\n", text(p, "pid"), text(p, "comm"), text(p, "exe"));
  }
  for (const auto& p : list(procs, "changed")) {
    std::vector<std::string> changes;
    if (const auto& c = p.value("changes", json::object()); c.is_object()) {
      for (const auto& [key, value] : c.items()) {
        changes.push_back(
            fmt::format("{} {} -> {}", key, text(value, "from"), text(value, "to")));
      }
    }
    out << fmt::format("  ~ {} {}: {}\n", text(p, "pid"), text(p, "comm"),
                       fmt::join(changes, ", "));
  }
  const auto& mem = r.value("memory", json::object());
  out << fmt::format("memory: {} pages changed, {} added, {} removed ({} new content)\n",
                     number(mem, "pages_changed"), number(mem, "pages_added"),
                     number(mem, "pages_removed"),
                     format_bytes(number(mem, "bytes_changed")));
  if (!list(mem, "mappings").empty()) {
    out << fmt::format("{:>8} {:>33} {:12} {:8} {:>8} {:>8} {:>8}  {}\n", "PID",
                       "ADDRESS", "KIND", "CHANGE", "CHANGED", "ADDED", "REMOVED",
                       "PATH");
  }
  for (const auto& m : list(mem, "mappings")) {
    out << fmt::format("{:>8} {:>16}-{:<16} {:12} {:8} {:>8} {:>8} {:>8}  {}\n",
                       text(m, "pid"), text(m, "start"), text(m, "end"), text(m, "kind"),
                       text(m, "change"), number(m, "pages_changed"),
                       number(m, "pages_added"), number(m, "pages_removed"),
                       text(m, "path"));
  }
  for (const char* section : {"files", "sockets"}) {
    out << fmt::format("{}: {} changed\n", section, list(r, section).size());
    for (const auto& d : list(r, section)) {
      const auto change = text(d, "change");
      const char mark = change == "added" ? '+' : change == "removed" ? '-' : '~';
      out << fmt::format("  {} {} fd {} {} {}{}\n", mark, text(d, "pid"), text(d, "fd"),
                         text(d, "type"), text(d, "target"),
                         text(d, "was").empty() ? "" : " (was " + text(d, "was") + ")");
    }
  }
}

} // namespace stasis::cli
