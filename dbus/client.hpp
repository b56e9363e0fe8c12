// The stasisctl side of io.stasis.Stasis1.Manager: a thin wrapper around the
// generated proxy that returns plain manager types and turns sdbus::Error into
// ClientError values. Single-threaded: signals are delivered only while
// wait_events() runs, on the calling thread.
#pragma once

#include "manager/api.hpp"
#include "util/result.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sdbus {
class IConnection;
class Error;
} // namespace sdbus

namespace stasis::dbus {

// Why a call failed, coarse enough to pick an exit code.
enum class ClientErrorKind {
  Unreachable,     // no bus, or no stasisd on it
  AccessDenied,    // the daemon or the bus refused the caller
  NotFound,        // no such job, checkpoint or run
  InvalidArgument, // a bad option or argument
  Failed,          // anything else (engine, store, busy, ...)
};

// A failed call: kind, the D-Bus error name and a message for people.
struct ClientError {
  ClientErrorKind kind = ClientErrorKind::Failed;
  std::string name;
  std::string message;
};

template <typename T>
using CResult = Result<T, ClientError>;

// Translates an sdbus::Error (stasis or bus error) into a ClientError.
ClientError to_client_error(const sdbus::Error& error);

class Client {
public:
  // Connects to a bus ("system", "session" or an address; see resolve_bus) and
  // prepares the proxy of stasisd's object. Does not contact stasisd yet.
  static CResult<std::unique_ptr<Client>> connect(const std::string& bus);
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // True when stasisd owns its bus name now. Asks the bus (NameHasOwner),
  // which never starts a stasisd that D-Bus activation would start: for
  // callers such as shell completion that must not start a disabled daemon.
  CResult<bool> daemon_running();

  // The daemon's Version property.
  CResult<std::string> version();

  CResult<std::vector<manager::JobInfo>> list_jobs();
  CResult<manager::JobInfo> get_job(const std::string& job);

  // Start runs; each returns the run id at once.
  CResult<std::string> checkpoint(const std::string& job,
                                  const manager::CheckpointOptions& options);
  CResult<std::string> checkpoint_process(pid_t pid,
                                          const manager::CheckpointOptions& options);
  CResult<std::string> restore(const std::string& job, const std::string& checkpoint,
                               const manager::RestoreOptions& options);
  // Push and Pull: checkpoints to and from an OCI registry; return the run id.
  CResult<std::string> push(const std::string& job, const std::string& checkpoint,
                            const std::string& reference,
                            const manager::RemoteOptions& options);
  CResult<std::string> pull(const std::string& reference, const std::string& job,
                            const manager::RemoteOptions& options);
  // RestoreOnTerminal: restores a shell job onto the terminal `terminal` (a
  // descriptor of ours, sent with the call).
  CResult<std::string> restore_on_terminal(const std::string& job,
                                           const std::string& checkpoint,
                                           const manager::RestoreOptions& options,
                                           int terminal);

  CResult<void> cancel_run(const std::string& run);
  CResult<manager::RunInfo> get_run(const std::string& run);
  // GetRunLog: CRIU's logs of a failed run.
  CResult<std::string> run_log(const std::string& run);
  CResult<std::vector<manager::RunInfo>> list_runs(const std::string& job,
                                                   std::uint32_t limit);

  CResult<std::vector<manager::CheckpointInfo>> list_checkpoints(const std::string& job);
  CResult<std::vector<manager::CheckpointInfo>> list_all_checkpoints();
  CResult<void> delete_checkpoint(const std::string& job, const std::string& checkpoint);
  CResult<void> pin_checkpoint(const std::string& job, const std::string& checkpoint,
                               bool pinned);
  CResult<std::vector<std::string>> prune(const std::string& job, bool dry_run);
  // InspectCheckpoint and DiffCheckpoints: JSON reports (docs/dbus-api.md).
  CResult<std::string> inspect_checkpoint(const std::string& job,
                                          const std::string& checkpoint);
  CResult<std::string> diff_checkpoints(const std::string& job, const std::string& from,
                                        const std::string& to);
  CResult<manager::VerifyReport> verify(const std::string& job,
                                        const std::string& checkpoint);

  // Store commands. export_checkpoint and import_checkpoint send `file` (a
  // descriptor of ours) and return the run id.
  CResult<manager::DiskUsage> disk_usage();
  CResult<std::string> export_checkpoint(const std::string& job,
                                         const std::string& checkpoint, int file);
  CResult<std::string> import_checkpoint(int file, const std::string& job);
  CResult<manager::FsckInfo> fsck(bool verify_data);
  CResult<manager::GcInfo> collect_garbage();

  CResult<manager::ReloadChanges> reload();
  // GetStatus: the version and the policy files the daemon left out.
  CResult<manager::DaemonStatus> status();
  CResult<manager::EngineInfo> engine_info();
  // GetMetrics: Prometheus text of the jobs this user may list.
  CResult<std::string> metrics();

  // Asks stasisd for the signals about runs and checkpoints (of the jobs this
  // user may list) on this connection; unsubscribe() stops them. JobsChanged
  // arrives without subscribing.
  CResult<void> subscribe();
  CResult<void> unsubscribe();

  // Receives the daemon's signals as manager events (during wait_events()).
  void on_event(manager::EventSink sink);

  // Processes incoming messages, delivering signals to the sink, until done()
  // returns true (checked after each batch) or the timeout passes (none =
  // forever). Returns whether done() became true.
  CResult<bool> wait_events(const std::function<bool()>& done,
                            std::optional<std::chrono::milliseconds> timeout);

private:
  class Proxy;
  Client(std::unique_ptr<sdbus::IConnection> connection, std::string bus);

  // Runs one proxy call, turning an sdbus::Error into a ClientError.
  template <typename F>
  auto call(F&& body) -> CResult<decltype(body())>;

  std::string m_bus;
  std::unique_ptr<sdbus::IConnection> m_connection;
  std::unique_ptr<Proxy> m_proxy;
  manager::EventSink m_sink;
};

} // namespace stasis::dbus
