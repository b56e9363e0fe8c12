// io.stasis.Stasis1.Manager: Version, jobs, Reload, GetEngineInfo, GetMetrics.
#include "dbus/manager_adaptor.hpp"

namespace stasis::dbus {

std::string ManagerAdaptor::Version() {
  return m_manager.version();
}

std::vector<VariantMap> ManagerAdaptor::ListJobs() {
  std::vector<VariantMap> jobs;
  for (const auto& job : value_or_throw(m_manager.list_jobs(caller()))) {
    jobs.push_back(to_variant_map(job));
  }
  return jobs;
}

VariantMap ManagerAdaptor::GetJob(const std::string& job) {
  return to_variant_map(value_or_throw(m_manager.get_job(caller(), job)));
}

VariantMap ManagerAdaptor::Reload() {
  return to_variant_map(value_or_throw(m_manager.reload(caller())));
}

VariantMap ManagerAdaptor::GetStatus() {
  return to_variant_map(value_or_throw(m_manager.status(caller())));
}

VariantMap ManagerAdaptor::GetEngineInfo() {
  return to_variant_map(value_or_throw(m_manager.engine_info(caller())));
}

std::string ManagerAdaptor::GetMetrics() {
  return value_or_throw(m_manager.metrics(caller()));
}

} // namespace stasis::dbus
