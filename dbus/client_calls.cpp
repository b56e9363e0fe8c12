// Client: one wrapper per io.stasis.Stasis1.Manager method.
#include "dbus/client.hpp"
#include "dbus/client_proxy.hpp"
#include "dbus/names.hpp"
#include "dbus/variant_maps.hpp"
#include "dbus/variant_options.hpp"

#include <type_traits>

namespace stasis::dbus {

template <typename F>
auto Client::call(F&& body) -> CResult<decltype(body())> {
  try {
    if constexpr (std::is_void_v<decltype(body())>) {
      body();
      return {};
    } else {
      return body();
    }
  } catch (const sdbus::Error& error) {
    return Unexpected(to_client_error(error));
  }
}

namespace {

// Converts each a{sv} of a list with `from`.
template <typename T>
std::vector<T> convert_all(const std::vector<VariantMap>& maps,
                           T (*from)(const VariantMap&)) {
  std::vector<T> values;
  values.reserve(maps.size());
  for (const auto& map : maps) {
    values.push_back(from(map));
  }
  return values;
}

} // namespace

CResult<std::string> Client::version() {
  return call([&] { return m_proxy->Version(); });
}

CResult<std::vector<manager::JobInfo>> Client::list_jobs() {
  return call([&] { return convert_all(m_proxy->ListJobs(), &job_from); });
}

CResult<manager::JobInfo> Client::get_job(const std::string& job) {
  return call([&] { return job_from(m_proxy->GetJob(job)); });
}

CResult<std::string> Client::checkpoint(const std::string& job,
                                        const manager::CheckpointOptions& options) {
  return call([&] { return m_proxy->Checkpoint(job, to_variant_map(options)); });
}

CResult<std::string>
Client::checkpoint_process(pid_t pid, const manager::CheckpointOptions& options) {
  return call([&] {
    return m_proxy->CheckpointProcess(static_cast<uint32_t>(pid),
                                      to_variant_map(options));
  });
}

CResult<std::string> Client::restore(const std::string& job,
                                     const std::string& checkpoint,
                                     const manager::RestoreOptions& options) {
  return call([&] { return m_proxy->Restore(job, checkpoint, to_variant_map(options)); });
}

CResult<std::string> Client::push(const std::string& job, const std::string& checkpoint,
                                  const std::string& reference,
                                  const manager::RemoteOptions& options) {
  return call(
      [&] { return m_proxy->Push(job, checkpoint, reference, to_variant_map(options)); });
}

CResult<std::string> Client::pull(const std::string& reference, const std::string& job,
                                  const manager::RemoteOptions& options) {
  return call([&] { return m_proxy->Pull(reference, job, to_variant_map(options)); });
}

CResult<std::string> Client::restore_on_terminal(const std::string& job,
                                                 const std::string& checkpoint,
                                                 const manager::RestoreOptions& options,
                                                 int terminal) {
  return call([&] {
    return m_proxy->RestoreOnTerminal(job, checkpoint, to_variant_map(options),
                                      sdbus::UnixFd(terminal));
  });
}

CResult<void> Client::cancel_run(const std::string& run) {
  return call([&] { m_proxy->CancelRun(run); });
}

CResult<manager::RunInfo> Client::get_run(const std::string& run) {
  return call([&] { return run_from(m_proxy->GetRun(run)); });
}

CResult<std::string> Client::run_log(const std::string& run) {
  return call([&] { return m_proxy->GetRunLog(run); });
}

CResult<std::vector<manager::RunInfo>> Client::list_runs(const std::string& job,
                                                         std::uint32_t limit) {
  return call([&] { return convert_all(m_proxy->ListRuns(job, limit), &run_from); });
}

CResult<std::vector<manager::CheckpointInfo>>
Client::list_checkpoints(const std::string& job) {
  return call(
      [&] { return convert_all(m_proxy->ListCheckpoints(job), &checkpoint_from); });
}

CResult<std::vector<manager::CheckpointInfo>> Client::list_all_checkpoints() {
  return call(
      [&] { return convert_all(m_proxy->ListAllCheckpoints(), &checkpoint_from); });
}

CResult<void> Client::delete_checkpoint(const std::string& job,
                                        const std::string& checkpoint) {
  return call([&] { m_proxy->DeleteCheckpoint(job, checkpoint); });
}

CResult<void> Client::pin_checkpoint(const std::string& job,
                                     const std::string& checkpoint, bool pinned) {
  return call([&] { m_proxy->PinCheckpoint(job, checkpoint, pinned); });
}

CResult<std::vector<std::string>> Client::prune(const std::string& job, bool dry_run) {
  return call([&] { return m_proxy->Prune(job, dry_run); });
}

CResult<manager::VerifyReport> Client::verify(const std::string& job,
                                              const std::string& checkpoint) {
  return call([&] {
    auto [ok, problems] = m_proxy->Verify(job, checkpoint);
    return manager::VerifyReport{ok, std::move(problems)};
  });
}

CResult<manager::DiskUsage> Client::disk_usage() {
  return call([&] {
    auto [jobs, totals] = m_proxy->GetDiskUsage();
    return disk_usage_from(jobs, totals);
  });
}

CResult<std::string> Client::export_checkpoint(const std::string& job,
                                               const std::string& checkpoint, int file) {
  return call([&] { return m_proxy->Export(job, checkpoint, sdbus::UnixFd(file)); });
}

CResult<std::string> Client::import_checkpoint(int file, const std::string& job) {
  return call([&] { return m_proxy->Import(sdbus::UnixFd(file), job); });
}

CResult<manager::FsckInfo> Client::fsck(bool verify_data) {
  return call([&] { return fsck_from(m_proxy->Fsck(verify_data)); });
}

CResult<manager::GcInfo> Client::collect_garbage() {
  return call([&] { return gc_from(m_proxy->CollectGarbage()); });
}

CResult<bool> Client::daemon_running() {
  return call([&] {
    bool owned = false;
    auto bus = sdbus::createProxy(*m_connection, "org.freedesktop.DBus",
                                  "/org/freedesktop/DBus");
    bus->callMethod("NameHasOwner")
        .onInterface("org.freedesktop.DBus")
        .withArguments(std::string(k_bus_name))
        .storeResultsTo(owned);
    return owned;
  });
}

CResult<std::string> Client::inspect_checkpoint(const std::string& job,
                                                const std::string& checkpoint) {
  return call([&] { return m_proxy->InspectCheckpoint(job, checkpoint); });
}

CResult<std::string> Client::diff_checkpoints(const std::string& job,
                                              const std::string& from,
                                              const std::string& to) {
  return call([&] { return m_proxy->DiffCheckpoints(job, from, to); });
}

CResult<manager::ReloadChanges> Client::reload() {
  return call([&] { return reload_changes_from(m_proxy->Reload()); });
}

CResult<manager::DaemonStatus> Client::status() {
  return call([&] { return status_from(m_proxy->GetStatus()); });
}

CResult<manager::EngineInfo> Client::engine_info() {
  return call([&] { return engine_from(m_proxy->GetEngineInfo()); });
}

CResult<std::string> Client::metrics() {
  return call([&] { return m_proxy->GetMetrics(); });
}

CResult<void> Client::subscribe() {
  return call([&] { m_proxy->subscribe(); });
}

CResult<void> Client::unsubscribe() {
  return call([&] { m_proxy->unsubscribe(); });
}

} // namespace stasis::dbus
