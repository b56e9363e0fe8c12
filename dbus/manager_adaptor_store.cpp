#include "dbus/manager_adaptor.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>

namespace stasis::dbus {
namespace {

// sdbus-c++ closes its copy with the message; the manager keeps a duplicate.
std::shared_ptr<const util::UniqueFd> keep(const sdbus::UnixFd& file) {
  const int fd = ::fcntl(file.get(), F_DUPFD_CLOEXEC, 3);
  if (fd < 0) {
    throw_error(
        manager::ErrorCode::InvalidArgument,
        fmt::format("the file descriptor cannot be used: {}", std::strerror(errno)));
  }
  return std::make_shared<const util::UniqueFd>(fd);
}

} // namespace

std::tuple<std::vector<VariantMap>, VariantMap> ManagerAdaptor::GetDiskUsage() {
  auto usage = value_or_throw(m_manager.disk_usage(caller()));
  std::vector<VariantMap> jobs;
  for (const auto& job : usage.jobs) {
    jobs.push_back(to_variant_map(job));
  }
  return {std::move(jobs), totals_to_variant_map(usage)};
}

std::string ManagerAdaptor::Export(const std::string& job, const std::string& checkpoint,
                                   const sdbus::UnixFd& file) {
  return value_or_throw(
      m_manager.export_checkpoint(caller(), job, checkpoint, keep(file)));
}

std::string ManagerAdaptor::Import(const sdbus::UnixFd& file, const std::string& job) {
  return value_or_throw(m_manager.import_checkpoint(caller(), keep(file), job));
}

VariantMap ManagerAdaptor::Fsck(const bool& verify_data) {
  return to_variant_map(value_or_throw(m_manager.fsck(caller(), verify_data)));
}

VariantMap ManagerAdaptor::CollectGarbage() {
  return to_variant_map(value_or_throw(m_manager.collect_garbage(caller())));
}

} // namespace stasis::dbus
