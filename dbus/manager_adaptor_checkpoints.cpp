// io.stasis.Stasis1.Manager: checkpoints of a job and their retention.
#include "dbus/manager_adaptor.hpp"

namespace stasis::dbus {

std::vector<VariantMap> ManagerAdaptor::ListCheckpoints(const std::string& job) {
  std::vector<VariantMap> checkpoints;
  for (const auto& checkpoint :
       value_or_throw(m_manager.list_checkpoints(caller(), job))) {
    checkpoints.push_back(to_variant_map(checkpoint));
  }
  return checkpoints;
}

std::vector<VariantMap> ManagerAdaptor::ListAllCheckpoints() {
  std::vector<VariantMap> checkpoints;
  for (const auto& checkpoint :
       value_or_throw(m_manager.list_all_checkpoints(caller()))) {
    checkpoints.push_back(to_variant_map(checkpoint));
  }
  return checkpoints;
}

void ManagerAdaptor::DeleteCheckpoint(const std::string& job,
                                      const std::string& checkpoint) {
  value_or_throw(m_manager.delete_checkpoint(caller(), job, checkpoint));
}

void ManagerAdaptor::PinCheckpoint(const std::string& job, const std::string& checkpoint,
                                   const bool& pinned) {
  value_or_throw(m_manager.pin_checkpoint(caller(), job, checkpoint, pinned));
}

std::vector<std::string> ManagerAdaptor::Prune(const std::string& job,
                                               const bool& dry_run) {
  return value_or_throw(m_manager.prune(caller(), job, dry_run));
}

std::tuple<bool, std::vector<std::string>>
ManagerAdaptor::Verify(const std::string& job, const std::string& checkpoint) {
  auto report = value_or_throw(m_manager.verify(caller(), job, checkpoint));
  return {report.ok, std::move(report.problems)};
}

std::string ManagerAdaptor::InspectCheckpoint(const std::string& job,
                                              const std::string& checkpoint) {
  return value_or_throw(m_manager.inspect_checkpoint(caller(), job, checkpoint));
}

std::string ManagerAdaptor::DiffCheckpoints(const std::string& job,
                                            const std::string& from,
                                            const std::string& to) {
  return value_or_throw(m_manager.diff_checkpoints(caller(), job, from, to));
}

} // namespace stasis::dbus
