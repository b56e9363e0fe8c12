#include "manager/pid_namespace_restore.hpp"

#include "engine/pid_namespace_worker.hpp"
#include "engine/read_file.hpp"
#include "engine/target.hpp"
#include "manager/privileges.hpp"
#include "util/log.hpp"

#include <memory>
#include <signal.h>
#include <sstream>

namespace stasis::manager {

pid_t innermost_pid(pid_t pid) {
  auto status = engine::read_file(fmt::format("/proc/{}/status", pid), 64 * 1024);
  if (!status) {
    return 0;
  }
  std::istringstream lines(*status);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("NSpid:")) {
      std::istringstream fields(line.substr(6));
      pid_t last = 0;
      for (pid_t value; fields >> value;) {
        last = value;
      }
      return last;
    }
  }
  return 0;
}

pid_t host_pid_in_namespace(pid_t init_pid, pid_t ns_pid) {
  for (pid_t pid : engine::descendants_of(init_pid)) {
    if (innermost_pid(pid) == ns_pid) {
      return pid;
    }
  }
  return 0;
}

Result<PidNamespaceRestore, engine::EngineError> restore_in_new_pid_namespace(
    const std::filesystem::path& criu, const RestoreRights& rights,
    const engine::RestoreOptions& options, const engine::NotifyHandler& notify,
    const engine::RunControl& control) {
  auto init_pid = std::make_shared<pid_t>(0);
  engine::ChildSetup as_user;
  if (!rights.as_root) {
    as_user = [user = rights.user, caps = restore_worker_caps(rights.needs_setpcap)] {
      errno = 0;
      return drop_to_user_keep_caps(user, caps) ? 0 : (errno != 0 ? errno : EPERM);
    };
  }
  engine::CriuClient client(criu, engine::pid_namespace_workers(criu, init_pid, as_user));
  auto restored = client.restore(options, notify, control);
  if (!restored) {
    return Unexpected(std::move(restored).error());
  }
  PidNamespaceRestore out;
  out.result = std::move(*restored);
  out.namespace_pid = out.result.pid;
  out.init_pid = *init_pid;
  const pid_t host =
      out.init_pid > 0 ? host_pid_in_namespace(out.init_pid, out.namespace_pid) : 0;
  if (host <= 0) {
    if (out.init_pid > 0) {
      ::kill(out.init_pid, SIGKILL); // takes the whole namespace with it
    }
    return Unexpected(engine::EngineError(
        engine::ErrorKind::Protocol, "restore into a new PID namespace failed",
        fmt::format("CRIU reports pid {} in the new namespace, but no such process runs "
                    "under its init (host pid {})",
                    out.namespace_pid, out.init_pid)));
  }
  out.result.pid = host;
  log::get("manager")->info("restored into a new PID namespace: pid {} there is host pid "
                            "{} (namespace init {})",
                            out.namespace_pid, host, out.init_pid);
  return out;
}

} // namespace stasis::manager
