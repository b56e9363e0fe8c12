// io.stasis.Stasis1.Manager: Checkpoint, CheckpointProcess, Restore and runs.
#include "dbus/manager_adaptor.hpp"
#include "dbus/variant_options.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <memory>

#include <fmt/format.h>

namespace stasis::dbus {

std::string ManagerAdaptor::Checkpoint(const std::string& job,
                                       const VariantMap& options) {
  const auto parsed =
      value_or_throw(checkpoint_options_from(options, CheckpointMethod::Checkpoint));
  return value_or_throw(m_manager.checkpoint(caller(), job, parsed));
}

std::string ManagerAdaptor::CheckpointProcess(const uint32_t& pid,
                                              const VariantMap& options) {
  if (pid == 0 || pid > static_cast<uint32_t>(std::numeric_limits<pid_t>::max())) {
    throw_error(manager::ErrorCode::InvalidArgument,
                fmt::format("{} is not a process id", pid));
  }
  const auto parsed = value_or_throw(
      checkpoint_options_from(options, CheckpointMethod::CheckpointProcess));
  return value_or_throw(
      m_manager.checkpoint_process(caller(), static_cast<pid_t>(pid), parsed));
}

std::string ManagerAdaptor::Restore(const std::string& job, const std::string& checkpoint,
                                    const VariantMap& options) {
  const auto parsed = value_or_throw(restore_options_from(options));
  return value_or_throw(m_manager.restore(caller(), job, checkpoint, parsed));
}

std::string ManagerAdaptor::RestoreOnTerminal(const std::string& job,
                                              const std::string& checkpoint,
                                              const VariantMap& options,
                                              const sdbus::UnixFd& terminal) {
  auto parsed = value_or_throw(restore_options_from(options));
  // sdbus-c++ closes its copy with the message; the manager keeps a duplicate.
  const int fd = ::fcntl(terminal.get(), F_DUPFD_CLOEXEC, 3);
  if (fd < 0) {
    throw_error(
        manager::ErrorCode::InvalidArgument,
        fmt::format("the terminal descriptor cannot be used: {}", std::strerror(errno)));
  }
  parsed.terminal = std::make_shared<const util::UniqueFd>(fd);
  return value_or_throw(m_manager.restore(caller(), job, checkpoint, parsed));
}

std::string ManagerAdaptor::Push(const std::string& job, const std::string& checkpoint,
                                 const std::string& reference,
                                 const VariantMap& options) {
  const auto parsed = value_or_throw(remote_options_from(options, true));
  return value_or_throw(m_manager.push(caller(), job, checkpoint, reference, parsed));
}

std::string ManagerAdaptor::Pull(const std::string& reference, const std::string& job,
                                 const VariantMap& options) {
  const auto parsed = value_or_throw(remote_options_from(options, false));
  return value_or_throw(m_manager.pull(caller(), reference, job, parsed));
}

void ManagerAdaptor::CancelRun(const std::string& run_id) {
  value_or_throw(m_manager.cancel_run(caller(), run_id));
}

VariantMap ManagerAdaptor::GetRun(const std::string& run_id) {
  return to_variant_map(value_or_throw(m_manager.get_run(caller(), run_id)));
}

std::string ManagerAdaptor::GetRunLog(const std::string& run_id) {
  return value_or_throw(m_manager.run_log(caller(), run_id));
}

std::vector<VariantMap> ManagerAdaptor::ListRuns(const std::string& job,
                                                 const uint32_t& limit) {
  std::vector<VariantMap> runs;
  for (const auto& run : value_or_throw(m_manager.list_runs(caller(), job, limit))) {
    runs.push_back(to_variant_map(run));
  }
  return runs;
}

} // namespace stasis::dbus
