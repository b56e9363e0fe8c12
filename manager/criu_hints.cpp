#include "manager/criu_hints.hpp"

#include <array>
#include <string_view>

#include <fmt/format.h>

namespace stasis::manager {
namespace {

// One known complaint: a text CRIU logs and what it means for the policy.
struct Complaint {
  std::string_view needle;
  std::string_view problem; // what the target does that needs the key
  std::string_view setting; // the policy setting to add
};

// CRIU 4.2's log texts (criu/tty.c, file-lock.c, sk-inet.c, sk-unix.c).
constexpr std::array<Complaint, 7> k_complaints{{
    {"Found dangling tty",
     "the process uses a terminal whose session leader and pty master are outside "
     "the checkpoint (it is a job started from a shell)",
     "`criu.shell-job: true`"},
    {"No task found with sid",
     "the checkpoint holds a terminal whose session leader is not in it (a shell job)",
     "`criu.shell-job: true`"},
    {"file locks are hold", "the process holds file locks (flock or POSIX locks)",
     "`criu.file-locks: true`"},
    {"--tcp-established", "the process has established TCP connections",
     "`criu.tcp-established: true`"},
    {"--ext-unix-sk",
     "the process has unix sockets connected to peers outside the checkpointed tree",
     "`criu.ext-unix-sk: true` (for stream connections also list the peer's path "
     "under `criu.external-unix-sockets`)"},
    {"Can't dump half of stream unix connection",
     "the process has a stream unix connection to a socket outside the checkpointed "
     "tree",
     "the listening socket's path under `criu.external-unix-sockets` (e.g. "
     "`external-unix-sockets: [{path: /run/app.sock}]`)"},
    {"Don't have tty to inherit session from",
     "the shell job's terminal has no replacement to attach to",
     "a terminal for the restored job (restore it from a terminal, or set "
     "`restore.orphan-pts-master: true`)"},
}};

// The peer path CRIU names in "Can't dump half of stream unix connection.
// name: X; peer name: /path".
std::string peer_name(std::string_view line) {
  constexpr std::string_view k_peer = "peer name: ";
  const auto at = line.find(k_peer);
  if (at == std::string_view::npos) {
    return {};
  }
  auto name = line.substr(at + k_peer.size());
  if (const auto end = name.find_first_of(" ;"); end != std::string_view::npos) {
    name = name.substr(0, end);
  }
  return name == "(null)" ? std::string() : std::string(name);
}

} // namespace

std::string policy_hint(const std::vector<std::string>& log_errors,
                        const std::string& job) {
  for (const auto& complaint : k_complaints) {
    for (const auto& line : log_errors) {
      if (line.find(complaint.needle) == std::string::npos) {
        continue;
      }
      std::string setting(complaint.setting);
      if (complaint.needle.starts_with("Can't dump half")) {
        if (const auto peer = peer_name(line); !peer.empty()) {
          setting = fmt::format("`criu.external-unix-sockets: [{{path: {}}}]`", peer);
        }
      }
      return fmt::format("{}: set {} in the policy of job '{}'", complaint.problem,
                         setting, job);
    }
  }
  return {};
}

std::string run_error_message(const engine::EngineError& error, const std::string& job) {
  auto hint = policy_hint(error.log_errors, job);
  if (hint.empty()) {
    return error.message();
  }
  engine::EngineError hinted = error;
  hinted.reason = error.reason.empty() ? std::move(hint) : hint + "; " + error.reason;
  return hinted.message();
}

} // namespace stasis::manager
