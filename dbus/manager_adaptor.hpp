// The daemon side of io.stasis.Stasis1.Manager: takes the caller from the bus,
// calls ManagerApi, translates values to a{sv} and errors to sdbus::Error.
// Translation only; the manager holds every decision (including who may do
// what, and who may see which event). Method bodies are split by concern over
// manager_adaptor_jobs.cpp, manager_adaptor_runs.cpp,
// manager_adaptor_checkpoints.cpp and manager_adaptor_signals.cpp (Subscribe
// and the signals, sent to each subscriber that may see them).
#pragma once

#include "dbus/event_queue.hpp"
#include "dbus/generated_adaptor.hpp"
#include "dbus/subscribers.hpp"
#include "dbus/variant_maps.hpp"
#include "manager/api.hpp"
#include "util/result.hpp"

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

namespace stasis::dbus {

class ManagerAdaptor final
    : public sdbus::AdaptorInterfaces<io::stasis::Stasis1::Manager_adaptor> {
public:
  // Exports the manager at k_object_path on the connection and registers the
  // event sink. Emit queued events with emit_pending() on the loop thread.
  static Result<std::unique_ptr<ManagerAdaptor>> create(sdbus::IConnection& connection,
                                                        manager::ManagerApi& manager);
  ~ManagerAdaptor();

  ManagerAdaptor(const ManagerAdaptor&) = delete;
  ManagerAdaptor& operator=(const ManagerAdaptor&) = delete;

  // Readable while manager events wait to become signals.
  int event_fd() const { return m_events->fd(); }

  // Emits every waiting event as its signal; call on the loop thread only.
  void emit_pending();

private:
  ManagerAdaptor(sdbus::IConnection& connection, manager::ManagerApi& manager,
                 std::shared_ptr<EventQueue> events);

  // The uid/gid/pid of the peer whose call is being handled.
  manager::Caller caller() const;
  // The unique bus name of the peer whose call is being handled.
  std::string sender() const;

  // Signals (manager_adaptor_signals.cpp). JobsChanged is broadcast; every
  // other event goes, addressed, to each subscriber that may see it.
  void emit(const manager::Event& event);
  void send_to(const std::string& destination, const manager::Event& event);
  // NameOwnerChanged from the bus: a subscriber's connection closed.
  void on_name_owner_changed(sdbus::Message& message);
  void Subscribe() override;
  void Unsubscribe() override;

  // io.stasis.Stasis1.Manager, jobs and daemon (manager_adaptor_jobs.cpp).
  std::string Version() override;
  std::vector<VariantMap> ListJobs() override;
  VariantMap GetJob(const std::string& job) override;
  VariantMap Reload() override;
  VariantMap GetStatus() override;
  std::string GetMetrics() override;
  VariantMap GetEngineInfo() override;

  // Runs (manager_adaptor_runs.cpp).
  std::string Checkpoint(const std::string& job, const VariantMap& options) override;
  std::string CheckpointProcess(const uint32_t& pid, const VariantMap& options) override;
  std::string Push(const std::string& job, const std::string& checkpoint,
                   const std::string& reference, const VariantMap& options) override;
  std::string Pull(const std::string& reference, const std::string& job,
                   const VariantMap& options) override;
  std::string Restore(const std::string& job, const std::string& checkpoint,
                      const VariantMap& options) override;
  std::string RestoreOnTerminal(const std::string& job, const std::string& checkpoint,
                                const VariantMap& options,
                                const sdbus::UnixFd& terminal) override;
  void CancelRun(const std::string& run_id) override;
  VariantMap GetRun(const std::string& run_id) override;
  std::string GetRunLog(const std::string& run_id) override;
  std::vector<VariantMap> ListRuns(const std::string& job,
                                   const uint32_t& limit) override;

  // Checkpoints (manager_adaptor_checkpoints.cpp).
  std::vector<VariantMap> ListCheckpoints(const std::string& job) override;
  std::vector<VariantMap> ListAllCheckpoints() override;
  void DeleteCheckpoint(const std::string& job, const std::string& checkpoint) override;
  void PinCheckpoint(const std::string& job, const std::string& checkpoint,
                     const bool& pinned) override;
  std::vector<std::string> Prune(const std::string& job, const bool& dry_run) override;
  std::tuple<bool, std::vector<std::string>>
  Verify(const std::string& job, const std::string& checkpoint) override;
  std::string InspectCheckpoint(const std::string& job,
                                const std::string& checkpoint) override;
  std::string DiffCheckpoints(const std::string& job, const std::string& from,
                              const std::string& to) override;

  // Store commands (manager_adaptor_store.cpp).
  std::tuple<std::vector<VariantMap>, VariantMap> GetDiskUsage() override;
  std::string Export(const std::string& job, const std::string& checkpoint,
                     const sdbus::UnixFd& file) override;
  std::string Import(const sdbus::UnixFd& file, const std::string& job) override;
  VariantMap Fsck(const bool& verify_data) override;
  VariantMap CollectGarbage() override;

  manager::ManagerApi& m_manager;
  std::shared_ptr<EventQueue> m_events;
  Subscribers m_subscribers;
  sdbus::Slot m_name_watch; // NameOwnerChanged of closed connections
};

// Returns the value of a manager result or throws its error as sdbus::Error.
template <typename T>
T value_or_throw(manager::MResult<T> result);
void value_or_throw(manager::MResult<void> result);

} // namespace stasis::dbus

#include "dbus/errors.hpp"

namespace stasis::dbus {

template <typename T>
T value_or_throw(manager::MResult<T> result) {
  if (!result) {
    throw_error(result.error());
  }
  return std::move(result).value();
}

inline void value_or_throw(manager::MResult<void> result) {
  if (!result) {
    throw_error(result.error());
  }
}

} // namespace stasis::dbus
