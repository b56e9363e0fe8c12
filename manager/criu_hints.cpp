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
  // False: the policy is right and `setting` is advice about the host.
  bool in_policy = true;
  // True when the job's settings already answer the complaint (null: never).
  bool (*answered)(const JobHintSettings&) = nullptr;
};

bool closes_or_keeps_tcp(const JobHintSettings& settings) {
  return settings.tcp_established || settings.tcp_close;
}

// CRIU 4.2's log texts (criu/tty.c, file-lock.c, sk-inet.c, sk-unix.c, image.c).
constexpr std::array<Complaint, 10> k_complaints{{
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
     "`criu.tcp-established: true` (to keep them) or `criu.tcp-close: true` (to "
     "leave them out: they are restored closed)",
     true, closes_or_keeps_tcp},
    {"--skip-in-flight",
     "the process has TCP connections in flight (not yet accepted by a listening "
     "socket)",
     "`criu.tcp-skip-in-flight: true` (their clients connect again)"},
    {"Need to set the --tcp-close",
     "the checkpoint was taken with `criu.tcp-close: true`, so its TCP connections "
     "were not saved and can only be restored closed",
     "`restore.tcp-close: true` (or restore with `stasisctl restore --tcp-close`, "
     "D-Bus option TcpClose)"},
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
     "the restored shell job needs a terminal to attach to, and it was handed none "
     "(stasisd has no terminal either)",
     "run `stasisctl restore` in a terminal (e.g. a tmux pane): it hands that terminal "
     "to stasisd and the job comes back there",
     false},
    {"Failed to set group",
     "the restored shell job needs a terminal to attach to, and it was handed none "
     "(stasisd's standard input is a terminal but not its controlling one)",
     "run `stasisctl restore` in a terminal (e.g. a tmux pane): it hands that terminal "
     "to stasisd and the job comes back there",
     false},
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

// CRIU's "No task found with sid" for a job that has `criu.shell-job: true`:
// the terminal's session leader is missing from the checkpoint, and what CRIU
// was asked to do with it needs that leader.
std::string missing_leader_hint(const std::string& job, const JobHintSettings& settings) {
  if (settings.orphan_pts_master) {
    return fmt::format(
        "`restore.orphan-pts-master` needs the terminal's session leader in the "
        "checkpoint, and a shell job's leader (its shell) stays outside it (job '{}' "
        "has `criu.shell-job: true`): remove `restore.orphan-pts-master: true` from the "
        "policy of job '{}'; `stasisctl restore` run in a terminal then restores the job "
        "onto that terminal",
        job, job);
  }
  return fmt::format(
      "the checkpoint holds a terminal whose session leader is not in it, which CRIU "
      "cannot restore even with `criu.shell-job: true` (job '{}' has it): checkpoint "
      "the tree from its session leader",
      job);
}

} // namespace

JobHintSettings hint_settings(const policy::CriuSettings& criu,
                              const policy::RestoreSettings& restore) {
  return {.shell_job = criu.shell_job,
          .orphan_pts_master = restore.orphan_pts_master,
          .tcp_established = criu.tcp_established,
          .tcp_close = criu.tcp_close};
}

std::string policy_hint(const std::vector<std::string>& log_errors,
                        const std::string& job, const JobHintSettings& settings) {
  for (const auto& complaint : k_complaints) {
    if (complaint.answered != nullptr && complaint.answered(settings)) {
      continue;
    }
    for (const auto& line : log_errors) {
      if (line.find(complaint.needle) == std::string::npos) {
        continue;
      }
      if (complaint.needle == "No task found with sid" && settings.shell_job) {
        return missing_leader_hint(job, settings);
      }
      std::string setting(complaint.setting);
      if (complaint.needle.starts_with("Can't dump half")) {
        if (const auto peer = peer_name(line); !peer.empty()) {
          setting = fmt::format("`criu.external-unix-sockets: [{{path: {}}}]`", peer);
        }
      }
      if (!complaint.in_policy) {
        return fmt::format("{}: {} (job '{}' has `criu.shell-job: true`)",
                           complaint.problem, setting, job);
      }
      return fmt::format("{}: set {} in the policy of job '{}'", complaint.problem,
                         setting, job);
    }
  }
  return {};
}

std::string run_error_message(const engine::EngineError& error, const std::string& job,
                              const JobHintSettings& settings) {
  auto hint = policy_hint(error.log_errors, job, settings);
  if (hint.empty()) {
    return error.message();
  }
  engine::EngineError hinted = error;
  hinted.reason = error.reason.empty() ? std::move(hint) : hint + "; " + error.reason;
  return hinted.message();
}

} // namespace stasis::manager
