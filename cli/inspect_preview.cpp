// The restore preview of `stasisctl inspect --preview`: what a restore of the
// inspected checkpoint would meet here, checked with the caller's rights
// (what the caller cannot see is not reported).
#include "cli/inspect_text.hpp"

#include <cerrno>
#include <csignal>
#include <fstream>
#include <set>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <fmt/format.h>

namespace stasis::cli {

using nlohmann::json;

namespace {

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The "model name" of /proc/cpuinfo, as stasisd records it in manifests.
std::string host_cpu() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      const auto start =
          colon == std::string::npos ? colon : line.find_first_not_of(" \t", colon + 1);
      return start == std::string::npos ? "" : line.substr(start);
    }
  }
  return "unknown";
}

std::string host_kernel() {
  struct utsname u {};
  // As stasisd records it in manifests.
  return ::uname(&u) == 0 ? fmt::format("{} {} {}", u.sysname, u.release, u.machine)
                          : "unknown";
}

// True when a process with this pid runs (also one the caller may not signal).
bool pid_in_use(long pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

std::string str(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j.at(key).is_string()
             ? j.at(key).get<std::string>()
             : "";
}

} // namespace

json restore_preview(const json& report) {
  json pids = json::array();
  std::set<long> seen;
  for (const auto& p : report.value("processes", json::array())) {
    std::vector<long> ids;
    if (p.contains("pid") && p["pid"].is_number_integer()) {
      ids.push_back(p["pid"].get<long>());
    }
    for (const auto& t : p.value("threads", json::array())) {
      if (t.is_number_integer()) {
        ids.push_back(t.get<long>());
      }
    }
    for (const long id : ids) {
      if (seen.insert(id).second && pid_in_use(id)) {
        pids.push_back({{"pid", id},
                        {"checkpoint_comm", str(p, "comm")},
                        {"running_comm", first_line(fmt::format("/proc/{}/comm", id))}});
      }
    }
  }
  json missing = json::array(), changed = json::array();
  for (const auto& f : report.value("files", json::array())) {
    const auto path = str(f, "path");
    if (path.empty() || path[0] != '/' || f.value("remapped", false)) {
      continue; // CRIU brings remapped files itself
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) {
        missing.push_back(path);
      }
      continue;
    }
    const auto size = f.value("size", std::uint64_t{0});
    if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) != size) {
      changed.push_back({{"path", path},
                         {"checkpoint_size", size},
                         {"size", static_cast<std::uint64_t>(st.st_size)}});
    }
  }
  const auto dumped_cpu = str(report, "cpu");
  const auto here_cpu = host_cpu();
  json cpu{
      {"checkpoint", dumped_cpu},
      {"host", here_cpu},
      {"same_model", dumped_cpu == here_cpu},
      {"cpuinfo_image", report.contains("cpu_image") && report["cpu_image"].is_object()}};
  json kernel{{"checkpoint", str(report, "kernel")},
              {"host", host_kernel()},
              {"same", str(report, "kernel") == host_kernel()}};
  const bool ok = pids.empty() && missing.empty() && changed.empty();
  return {{"ok", ok},
          {"pids", pids},
          {"missing_files", missing},
          {"changed_files", changed},
          {"cpu", cpu},
          {"kernel", kernel}};
}

void print_preview(const json& preview, std::ostream& out) {
  out << "\nRESTORE PREVIEW (this host, your rights)\n";
  const auto& pids = preview.value("pids", json::array());
  if (pids.empty()) {
    out << "  pids: none of the tree's pids is in use\n";
  }
  for (const auto& p : pids) {
    out << fmt::format("  pid {} ({}) is in use by a running process ({}): restore it "
                       "into a new PID namespace (stasisctl restore --new-pidns)\n",
                       p.value("pid", 0L), str(p, "checkpoint_comm"),
                       str(p, "running_comm"));
  }
  const auto& cpu = preview.value("cpu", json::object());
  if (cpu.value("same_model", false)) {
    out << fmt::format("  cpu: the same model as at dump time ({})\n", str(cpu, "host"));
  } else {
    out << fmt::format("  cpu: dumped on '{}', this host has '{}': CRIU compares the CPU "
                       "features at restore{}\n",
                       str(cpu, "checkpoint"), str(cpu, "host"),
                       cpu.value("cpuinfo_image", false)
                           ? " (against the checkpoint's cpuinfo image)"
                           : " (the checkpoint has no cpuinfo image: criu.cpu-cap)");
  }
  const auto& kernel = preview.value("kernel", json::object());
  if (kernel.value("same", false)) {
    out << fmt::format("  kernel: the same as at dump time ({})\n", str(kernel, "host"));
  } else {
    out << fmt::format("  kernel: dumped on {}, this host runs {}\n",
                       str(kernel, "checkpoint"), str(kernel, "host"));
  }
  const auto& missing = preview.value("missing_files", json::array());
  const auto& changed = preview.value("changed_files", json::array());
  if (missing.empty() && changed.empty()) {
    out << "  files: every file the tree reopens is there\n";
  }
  for (const auto& path : missing) {
    out << fmt::format("  missing file: {}\n",
                       path.is_string() ? path.get<std::string>() : "");
  }
  for (const auto& f : changed) {
    out << fmt::format("  file changed size: {} ({} bytes at dump, {} now): CRIU refuses "
                       "to reopen it\n",
                       str(f, "path"), f.value("checkpoint_size", std::uint64_t{0}),
                       f.value("size", std::uint64_t{0}));
  }
  out << (preview.value("ok", false)
              ? "  restore looks possible\n"
              : "  restore would likely fail or clash (see above)\n");
}

} // namespace stasis::cli
