// The manager's facade: everything the D-Bus layer (and tests) may ask of the
// daemon, in plain C++ types. dbus/ translates D-Bus calls into these calls and
// ManagerError codes into io.stasis.Stasis1.Error.* names; it holds no logic.
#pragma once

#include "util/result.hpp"
#include "util/unique_fd.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <variant>
#include <vector>

namespace stasis::manager {

// Why a request failed; each code maps to one D-Bus error name.
enum class ErrorCode {
  NoSuchJob,
  NoSuchCheckpoint,
  NoSuchRun,
  AccessDenied,
  InvalidPolicy,
  InvalidArgument,
  Busy,
  EngineFailed,
  StoreFailed,
};

// A failed request: the code and a sentence a person can act on.
struct ManagerError {
  ErrorCode code;
  std::string message;
};

template <typename T>
using MResult = Result<T, ManagerError>;

// Builds an error result: return fail(ErrorCode::NoSuchJob, "no job named {}", name);
template <typename... Args>
Unexpected<ManagerError> fail(ErrorCode code, fmt::format_string<Args...> format,
                              Args&&... args) {
  return Unexpected<ManagerError>(
      ManagerError{code, fmt::format(format, std::forward<Args>(args)...)});
}

// Who is calling: taken from the bus (GetConnectionUnixUser and friends).
struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  bool is_root() const { return uid == 0; }
};

using TimePoint = std::chrono::system_clock::time_point;

// A job as listed to callers.
struct JobInfo {
  std::string name;
  std::string description;
  std::string target;   // human-readable target description
  std::string schedule; // e.g. "every 15m", "daily", "on demand"
  bool enabled = true;  // the policy's enabled: false runs no schedule
  std::optional<TimePoint> next_run;
  std::optional<TimePoint> last_run;
  std::string last_result; // "", "succeeded", "failed: ...", ...
  std::uint32_t checkpoints = 0;
  std::string policy_file;
  std::string fingerprint;
  bool shell_job = false; // criu.shell-job: a restore may be given a terminal
  // criu.leave-running: false when an on-demand checkpoint (without the
  // LeaveRunning option) leaves the target stopped.
  bool leave_running = false;
  // The job's newest finished push (replication or Push): when it started,
  // its result ("succeeded", "failed: ...") and the registry's copy
  // (HOST/REPO:TAG@DIGEST; the repository it tried when it failed).
  std::optional<TimePoint> last_push;
  std::string last_push_result;
  std::string last_push_remote;
};

// Push and Pull copy a checkpoint to or from an OCI registry (remote/); they
// run beside a job's checkpoints and restores, one remote run per job at once.
// Export and Import stream a checkpoint to or from a descriptor the caller
// passed (docs/export-format.md).
enum class RunKind { Checkpoint, Restore, Push, Pull, Export, Import };
// Interrupted: stasisd stopped (crashed) while the run was running; its error
// says what is known of the outcome.
enum class RunState {
  Queued,
  Running,
  Succeeded,
  Failed,
  Cancelled,
  Skipped,
  Interrupted
};

std::string to_string(RunKind kind);
std::string to_string(RunState state);

// One run of a job: a checkpoint or a restore.
struct RunInfo {
  std::string id;
  std::string job;
  RunKind kind = RunKind::Checkpoint;
  RunState state = RunState::Queued;
  std::string checkpoint; // made (checkpoint) or restored from (restore)
  pid_t pid = 0;          // target (checkpoint) or restored pid (restore)
  // What tells pid from a later process with the same number (see
  // process_identity.hpp); kept in the run history only, not sent on D-Bus.
  std::string pid_identity;
  std::string error;
  std::uint64_t frozen_usec = 0;
  std::uint64_t logical_bytes = 0;
  std::uint64_t stored_bytes = 0; // push/pull: the bytes sent or received
  // push/pull: the registry's copy, "HOST/REPO:TAG@sha256:..."; a failed push
  // or pull: the reference it tried ("" for other runs)
  std::string remote{};
  std::optional<TimePoint> started;
  std::optional<TimePoint> finished;
};

// A stored checkpoint as listed to callers.
struct CheckpointInfo {
  std::string id;
  TimePoint created;
  std::string previous;
  bool pinned = false;
  std::uint64_t logical_bytes = 0;
  std::uint64_t stored_bytes = 0;
  std::string fingerprint;
  std::string criu_version;
  std::uint64_t frozen_usec = 0;
  // Why the checkpoint cannot be read ("" when it can); the other fields but
  // id and pinned are then unknown.
  std::string problem;
  // The job it is stored under, and (list_all_checkpoints) whether no policy
  // names that job any more (an orphan), or which job now has it as a former
  // name ("" = none).
  std::string job;
  bool orphan = false;
  std::string renamed_to;
};

// Options of Checkpoint/CheckpointProcess; unset = the policy's (or ad-hoc) default.
struct CheckpointOptions {
  std::optional<bool> leave_running;
  std::optional<bool> stream;     // pages into the store over the page-server protocol
  std::optional<bool> shell_job;  // ad-hoc only
  std::optional<bool> file_locks; // ad-hoc only
  std::optional<bool> tcp_established; // ad-hoc only
  std::optional<bool> ext_unix_sk;     // ad-hoc only
};

// How to reach a registry for Push and Pull: the caller's credentials and
// CAs, read by stasisctl with the caller's rights (stasisd never reads a
// credentials file for a caller). Unset: none.
struct RemoteOptions {
  std::string username;
  std::string password;
  std::string ca_pem;
  bool plain_http = false;
  std::string origin; // push: the tag's host part; "" = this host's name
};

// Options of Restore.
struct RestoreOptions {
  std::optional<bool> new_pid_namespace;
  std::optional<bool> detached;
  std::optional<bool> lazy;
  std::optional<bool> tcp_close; // restore established TCP connections closed
  // The caller's terminal, to restore a shell job onto (RestoreOnTerminal):
  // a tty open for reading and writing that the caller owns (root may hand
  // any). Shared: a queued run keeps it until it ran.
  std::shared_ptr<const util::UniqueFd> terminal;
  // A checkpoint in a registry (HOST[:PORT]/REPOSITORY:TAG) to restore lazily
  // instead of a stored one (needs lazy): its pages come on demand and in the
  // background, then it is stored as the job's next checkpoint. "" = none.
  std::string from;
  RemoteOptions remote; // how to reach `from`'s registry
};

// Bounds on what a caller may send in RemoteOptions and references.
inline constexpr std::size_t k_max_reference_chars = 512;
inline constexpr std::size_t k_max_credential_chars = 4096;
inline constexpr std::size_t k_max_ca_pem_bytes = 256 * 1024;

// Result of Reload: job names by change, and the policy files left out
// ("file:line:col: message" each; their jobs keep what they had).
struct ReloadChanges {
  std::vector<std::string> added;
  std::vector<std::string> removed;
  std::vector<std::string> changed;
  std::vector<std::string> problems;
};

// The daemon's state as GetStatus reports it.
struct DaemonStatus {
  std::string version;
  // Policy files the last load left out (bad or refused); their problems
  // ("file:line:col: message") go to root only.
  std::uint32_t bad_policy_files = 0;
  std::vector<std::string> policy_problems;
};

struct VerifyReport {
  bool ok = true;
  std::vector<std::string> problems;
};

// The store's usage as a caller may see it: the jobs she may list; the
// whole store's totals only for root (whole_store).
struct JobDiskUsage {
  std::string job;
  std::uint64_t checkpoints = 0;
  std::uint64_t logical_bytes = 0;
  std::uint64_t stored_bytes = 0; // unique blob bytes the job references
};
struct DiskUsage {
  std::vector<JobDiskUsage> jobs;
  bool whole_store = false;
  std::uint64_t logical_bytes = 0;
  std::uint64_t referenced_bytes = 0;
  std::uint64_t pack_bytes = 0;
  std::uint64_t manifest_bytes = 0;
};

// What Fsck found and cleaned (store::FsckReport, as D-Bus carries it).
struct FsckInfo {
  bool ok = true;
  std::uint64_t packs = 0;
  std::uint64_t blobs = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t temp_files_removed = 0;
  std::uint64_t orphan_packs_removed = 0;
  std::vector<std::string> problems; // damaged checkpoints included
};

// What CollectGarbage freed.
struct GcInfo {
  std::uint64_t packs_deleted = 0;
  std::uint64_t packs_repacked = 0;
  std::uint64_t bytes_freed = 0;
};

// The longest a daemon export waits for its reader to take more bytes.
inline constexpr std::chrono::seconds k_export_stall_timeout{60};

struct EngineInfo {
  std::string criu_path;
  std::string criu_version;
  bool mem_track = false;
  bool lazy_pages = false;
  std::string kernel;
};

// Events the manager announces; the D-Bus layer turns them into signals.
struct RunStartedEvent {
  std::string run;
  std::string job;
  RunKind kind;
};
struct RunProgressEvent {
  std::string run;
  std::string phase;
  std::uint64_t done;
  std::uint64_t total;
  std::string job{}; // decides who may see it; not part of the RunProgress signal
};
struct RunFinishedEvent {
  std::string run;
  std::string job;
  RunKind kind;
  RunState result;
  std::string checkpoint;
  std::string error;
};
struct CheckpointsChangedEvent {
  std::string job;
};
struct JobsChangedEvent {};
using Event = std::variant<RunStartedEvent, RunProgressEvent, RunFinishedEvent,
                           CheckpointsChangedEvent, JobsChangedEvent>;
using EventSink = std::function<void(const Event&)>;

// What the daemon offers. Every call checks the caller's rights itself.
class ManagerApi {
public:
  virtual ~ManagerApi() = default;

  virtual std::string version() const = 0;
  virtual MResult<std::vector<JobInfo>> list_jobs(const Caller& caller) = 0;
  virtual MResult<JobInfo> get_job(const Caller& caller, const std::string& job) = 0;

  virtual MResult<std::string> checkpoint(const Caller& caller, const std::string& job,
                                          const CheckpointOptions& options) = 0;
  virtual MResult<std::string> checkpoint_process(const Caller& caller, pid_t pid,
                                                  const CheckpointOptions& options) = 0;
  virtual MResult<std::string> restore(const Caller& caller, const std::string& job,
                                       const std::string& checkpoint,
                                       const RestoreOptions& options) = 0;

  // Copies a stored checkpoint to the registry repository `reference`
  // (HOST[:PORT]/REPO); the caller needs `restore` access to the job.
  // Returns the run id (kind Push).
  virtual MResult<std::string> push(const Caller& caller, const std::string& job,
                                    const std::string& checkpoint,
                                    const std::string& reference,
                                    const RemoteOptions& options) = 0;
  // Copies the checkpoint `reference` (HOST[:PORT]/REPO:TAG) into the store as
  // the next checkpoint of `job`: root into any job, a user only into her own
  // ad-hoc job user-UID. Returns the run id (kind Pull; its checkpoint is the
  // new local id).
  virtual MResult<std::string> pull(const Caller& caller, const std::string& reference,
                                    const std::string& job,
                                    const RemoteOptions& options) = 0;

  virtual MResult<void> cancel_run(const Caller& caller, const std::string& run) = 0;
  virtual MResult<RunInfo> get_run(const Caller& caller, const std::string& run) = 0;
  // CRIU's logs of a run that kept them (failed runs; manager/run_log.hpp),
  // for callers that may list its job.
  virtual MResult<std::string> run_log(const Caller& caller, const std::string& run) = 0;
  virtual MResult<std::vector<RunInfo>>
  list_runs(const Caller& caller, const std::string& job, std::uint32_t limit) = 0;

  virtual MResult<std::vector<CheckpointInfo>>
  list_checkpoints(const Caller& caller, const std::string& job) = 0;
  // The checkpoints of every job of the store the caller may list, by job
  // then oldest first: also the jobs no policy names any more (orphans, root
  // only) and the former names of renamed jobs (with the new job's access).
  virtual MResult<std::vector<CheckpointInfo>>
  list_all_checkpoints(const Caller& caller) = 0;
  virtual MResult<void> delete_checkpoint(const Caller& caller, const std::string& job,
                                          const std::string& checkpoint) = 0;
  virtual MResult<void> pin_checkpoint(const Caller& caller, const std::string& job,
                                       const std::string& checkpoint, bool pinned) = 0;
  virtual MResult<std::vector<std::string>>
  prune(const Caller& caller, const std::string& job, bool dry_run) = 0;
  virtual MResult<VerifyReport> verify(const Caller& caller, const std::string& job,
                                       const std::string& checkpoint) = 0;
  // What a stored checkpoint ("" = the newest) holds: processes, mappings,
  // descriptors, files, sockets, CRIU/kernel/CPU, as JSON text
  // (manager/inspect/reports.hpp). The caller needs `restore` access.
  virtual MResult<std::string> inspect_checkpoint(const Caller& caller,
                                                  const std::string& job,
                                                  const std::string& checkpoint) = 0;
  // What changed from checkpoint `from` to `to` of a job, as JSON text. The
  // caller needs `restore` access.
  virtual MResult<std::string> diff_checkpoints(const Caller& caller,
                                                const std::string& job,
                                                const std::string& from,
                                                const std::string& to) = 0;

  // Store commands. disk_usage: the jobs the caller may list (totals: root).
  virtual MResult<DiskUsage> disk_usage(const Caller& caller) = 0;
  // Writes checkpoint as an export stream into file (a descriptor the caller
  // opened for writing: a regular file or a pipe), as a run of kind export;
  // needs the job's export right.
  virtual MResult<std::string>
  export_checkpoint(const Caller& caller, const std::string& job,
                    const std::string& checkpoint,
                    std::shared_ptr<const util::UniqueFd> file) = 0;
  // Reads an export stream from file (opened for reading by the caller) into
  // the store as the next checkpoint of job, as a run of kind import: root
  // into any job, a user only into her own job user-UID, within her quota.
  virtual MResult<std::string>
  import_checkpoint(const Caller& caller, std::shared_ptr<const util::UniqueFd> file,
                    const std::string& job) = 0;
  // Root only: checks the store (verify_data: re-hashes every chunk) and
  // removes what interrupted operations left; collect_garbage removes blobs
  // no checkpoint uses.
  virtual MResult<FsckInfo> fsck(const Caller& caller, bool verify_data) = 0;
  virtual MResult<GcInfo> collect_garbage(const Caller& caller) = 0;
  virtual MResult<ReloadChanges> reload(const Caller& caller) = 0;
  virtual MResult<DaemonStatus> status(const Caller& caller) = 0;
  virtual MResult<EngineInfo> engine_info(const Caller& caller) = 0;
  // The metrics of the jobs the caller may list in the Prometheus text
  // format (manager/metrics.hpp); root also gets the store's and the run
  // queue's.
  virtual MResult<std::string> metrics(const Caller& caller) = 0;

  // Registers the one sink that receives events (the D-Bus adaptor).
  virtual void set_event_sink(EventSink sink) = 0;

  // True when the caller may learn of the event: JobsChanged names nothing and
  // goes to everyone; the others only to callers that may list their job (root
  // always may). The D-Bus layer asks this for every subscriber of every event.
  virtual bool may_see(const Caller& caller, const Event& event) const = 0;
};

} // namespace stasis::manager
