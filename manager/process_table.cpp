#include "manager/process_table.hpp"

#include "manager/authorization.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;

constexpr unsigned long k_pf_kthread = 0x00200000;

// Reads at most max_bytes of a file.
std::string read_text(const fs::path& path,
                      std::size_t max_bytes = std::numeric_limits<std::size_t>::max()) {
  std::ifstream in(path, std::ios::binary);
  std::string text;
  char buffer[4096];
  while (text.size() < max_bytes &&
         (in.read(buffer, static_cast<std::streamsize>(
                              std::min(sizeof buffer, max_bytes - text.size()))) ||
          in.gcount() > 0)) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
  }
  return text;
}

std::optional<pid_t> parse_pid(std::string_view text) {
  pid_t pid = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (error != std::errc() || end != text.data() + text.size() || pid <= 0) {
    return std::nullopt;
  }
  return pid;
}

bool is_under(const fs::path& path, const fs::path& root) {
  auto rel = path.lexically_normal().lexically_relative(root.lexically_normal());
  return !rel.empty() && *rel.begin() != "..";
}

} // namespace

std::optional<ProcessEntry> LinuxProcessTable::process(pid_t pid) const {
  const fs::path dir = m_proc / std::to_string(pid);
  std::string stat = read_text(dir / "stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream fields(stat.substr(close + 1));
  std::string state;
  long ppid = 0;
  std::string skip;
  unsigned long flags = 0;
  fields >> state >> ppid >> skip >> skip >> skip >> skip >> flags;
  if (!fields) {
    return std::nullopt;
  }
  ProcessEntry entry;
  entry.pid = pid;
  entry.ppid = static_cast<pid_t>(ppid);
  entry.kernel_thread = (flags & k_pf_kthread) != 0;
  std::istringstream status(read_text(dir / "status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Uid:", 0) == 0) {
      entry.uid = static_cast<uid_t>(std::stoul(line.substr(4)));
    }
  }
  std::error_code ec;
  entry.exe = fs::read_symlink(dir / "exe", ec).string();
  entry.cmdline = read_text(dir / "cmdline", k_max_cmdline_bytes);
  while (!entry.cmdline.empty() && entry.cmdline.back() == '\0') {
    entry.cmdline.pop_back();
  }
  for (char& c : entry.cmdline) {
    c = c == '\0' ? ' ' : c;
  }
  return entry;
}

std::vector<ProcessEntry> LinuxProcessTable::processes() const {
  std::vector<ProcessEntry> result;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(m_proc, ec)) {
    if (auto pid = parse_pid(item.path().filename().string())) {
      if (auto entry = process(*pid)) {
        result.push_back(std::move(*entry));
      }
    }
  }
  return result;
}

fs::path LinuxProcessTable::cgroup2_mount() const {
  std::istringstream mountinfo(read_text(m_proc / "self" / "mountinfo"));
  for (std::string line; std::getline(mountinfo, line);) {
    // "... mount-point ... - fstype source options"
    auto dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) {
      continue;
    }
    std::istringstream fields(line.substr(0, dash));
    std::string field, mount_point;
    for (int i = 0; i < 5 && fields >> field; ++i) {
      mount_point = field;
    }
    return mount_point;
  }
  return "/sys/fs/cgroup";
}

Result<std::vector<pid_t>>
LinuxProcessTable::cgroup_members(const std::string& path) const {
  fs::path dir = path;
  if (dir.is_absolute()) {
    if (!is_under(dir, "/sys/fs/cgroup")) {
      return make_error("cgroup path {} is not under /sys/fs/cgroup", path);
    }
  } else {
    dir = cgroup2_mount() / dir;
    if (!is_under(dir, cgroup2_mount())) {
      return make_error("cgroup path {} leaves the cgroup file system", path);
    }
  }
  if (!fs::exists(dir / "cgroup.procs")) {
    return make_error("cgroup {} does not exist (no {})", path,
                      (dir / "cgroup.procs").string());
  }
  std::vector<pid_t> members;
  auto read_procs = [&](const fs::path& cgroup) {
    std::istringstream procs(read_text(cgroup / "cgroup.procs"));
    for (std::string line; std::getline(procs, line);) {
      if (auto pid = parse_pid(line)) {
        members.push_back(*pid);
      }
    }
  };
  read_procs(dir);
  std::error_code ec;
  for (const auto& item : fs::recursive_directory_iterator(dir, ec)) {
    if (item.is_directory(ec) && fs::exists(item.path() / "cgroup.procs")) {
      read_procs(item.path());
    }
  }
  return members;
}

Result<void> LinuxProcessTable::check_owned_by(pid_t pid, uid_t uid) const {
  auto owned = check_own_process(Caller{uid, 0, 0}, pid, m_proc);
  if (!owned) {
    return make_error("{}", owned.error().message);
  }
  return {};
}

Result<pid_t> LinuxProcessTable::systemd_main_pid(const std::string& unit) const {
  if (!fs::exists("/run/systemd/system")) {
    return make_error(
        "cannot resolve unit {}: systemd is not running (no /run/systemd/system)", unit);
  }
  try {
    auto connection = sdbus::createSystemBusConnection();
    const std::string service = "org.freedesktop.systemd1";
    auto manager = sdbus::createProxy(*connection, service, "/org/freedesktop/systemd1");
    sdbus::ObjectPath unit_path;
    manager->callMethod("LoadUnit")
        .onInterface("org.freedesktop.systemd1.Manager")
        .withArguments(unit)
        .storeResultsTo(unit_path);
    auto unit_proxy = sdbus::createProxy(*connection, service, unit_path);
    sdbus::Variant main_pid = unit_proxy->getProperty("MainPID").onInterface(
        "org.freedesktop.systemd1.Service");
    auto pid = static_cast<pid_t>(main_pid.get<std::uint32_t>());
    if (pid <= 0) {
      return make_error("unit {} has no main process (is it running? is it a service?)",
                        unit);
    }
    return pid;
  } catch (const sdbus::Error& error) {
    return make_error("cannot ask systemd for the main pid of {}: {}", unit,
                      error.getMessage());
  }
}

} // namespace stasis::manager
