#include "manager/process_identity.hpp"

#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace stasis::manager {
namespace {

// The fields of /proc/PID/stat after "pid (comm)": [0] is the state (field 3
// of proc(5)), [19] the start time (field 22). Empty when unreadable.
std::vector<std::string> stat_fields(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')'); // comm may hold spaces and parentheses
  if (close == std::string::npos) {
    return {};
  }
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) {
    fields.push_back(field);
  }
  return fields;
}

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

} // namespace

std::string process_identity(pid_t pid) {
  if (pid <= 0) {
    return "";
  }
  const auto fields = stat_fields(pid);
  if (fields.size() < 20) {
    return "";
  }
  return fmt::format("{}/{}", boot_id(), fields[19]);
}

PidFate pid_fate(pid_t pid, const std::string& identity) {
  const std::string now = process_identity(pid);
  if (now.empty()) {
    return PidFate::Gone;
  }
  if (identity.empty()) {
    return PidFate::Unknown;
  }
  return now == identity ? PidFate::Same : PidFate::Replaced;
}

bool process_stopped(pid_t pid) {
  const auto fields = stat_fields(pid);
  return !fields.empty() && (fields[0] == "T" || fields[0] == "t");
}

} // namespace stasis::manager
