// The daemon's manager: ManagerApi wired from the policy loader, the
// scheduler, the run queue and history, the CRIU engine and the store.
//
// Jobs are the policy's (each bad policy file left out, reported by status()
// and logged; on reload its jobs keep their old definition) plus ad-hoc jobs
// "user-<uid>" made by CheckpointProcess. Runs capture a snapshot of their
// job, so a reload never changes a run in progress. Every call checks the
// caller against the job's policy::Access before reading anything.
// The member functions are split over manager.cpp (start, reload, engine),
// manager_queries.cpp (jobs, runs, checkpoints), checkpoint_run.cpp,
// restore_run.cpp, adhoc.cpp and orphans.cpp (checkpoints of removed or
// renamed jobs).
#pragma once

#include "engine/criu_client.hpp"
#include "engine/features.hpp"
#include "manager/api.hpp"
#include "manager/authorization.hpp"
#include "manager/child_reaper.hpp"
#include "manager/clock.hpp"
#include "manager/daemon_config.hpp"
#include "manager/delayed_tasks.hpp"
#include "manager/lazy_restore.hpp"
#include "manager/metrics.hpp"
#include "manager/pinned_process.hpp"
#include "manager/process_table.hpp"
#include "manager/run_history.hpp"
#include "manager/run_queue.hpp"
#include "manager/scheduler.hpp"
#include "policy/loader.hpp"
#include "policy/model.hpp"
#include "remote/remote.hpp"
#include "store/run_dirs.hpp"
#include "store/store.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace stasis::manager {

// Facts about this host recorded in every checkpoint's manifest.
struct HostInfo {
  std::string kernel;       // uname: "Linux 6.18.0 x86_64"
  std::string cpu;          // /proc/cpuinfo "model name"
  std::string criu_version; // "4.2.1"
};

class Manager final : public ManagerApi {
public:
  // Loads the policies, opens history and store, asks CRIU for its version and
  // features, and starts the scheduler. Errors are logged and returned.
  static Result<std::unique_ptr<Manager>> create(const DaemonConfig& config);
  ~Manager() override;

  std::string version() const override;
  MResult<std::vector<JobInfo>> list_jobs(const Caller& caller) override;
  MResult<JobInfo> get_job(const Caller& caller, const std::string& job) override;
  MResult<std::string> checkpoint(const Caller& caller, const std::string& job,
                                  const CheckpointOptions& options) override;
  MResult<std::string> checkpoint_process(const Caller& caller, pid_t pid,
                                          const CheckpointOptions& options) override;
  MResult<std::string> restore(const Caller& caller, const std::string& job,
                               const std::string& checkpoint,
                               const RestoreOptions& options) override;
  MResult<std::string> push(const Caller& caller, const std::string& job,
                            const std::string& checkpoint, const std::string& reference,
                            const RemoteOptions& options) override;
  MResult<std::string> pull(const Caller& caller, const std::string& reference,
                            const std::string& job,
                            const RemoteOptions& options) override;
  MResult<void> cancel_run(const Caller& caller, const std::string& run) override;
  MResult<RunInfo> get_run(const Caller& caller, const std::string& run) override;
  MResult<std::string> run_log(const Caller& caller, const std::string& run) override;
  MResult<std::vector<RunInfo>> list_runs(const Caller& caller, const std::string& job,
                                          std::uint32_t limit) override;
  MResult<std::vector<CheckpointInfo>> list_checkpoints(const Caller& caller,
                                                        const std::string& job) override;
  MResult<std::vector<CheckpointInfo>>
  list_all_checkpoints(const Caller& caller) override;
  MResult<void> delete_checkpoint(const Caller& caller, const std::string& job,
                                  const std::string& checkpoint) override;
  MResult<void> pin_checkpoint(const Caller& caller, const std::string& job,
                               const std::string& checkpoint, bool pinned) override;
  MResult<std::vector<std::string>> prune(const Caller& caller, const std::string& job,
                                          bool dry_run) override;
  MResult<std::string> inspect_checkpoint(const Caller& caller, const std::string& job,
                                          const std::string& checkpoint) override;
  MResult<std::string> diff_checkpoints(const Caller& caller, const std::string& job,
                                        const std::string& from,
                                        const std::string& to) override;
  MResult<VerifyReport> verify(const Caller& caller, const std::string& job,
                               const std::string& checkpoint) override;
  MResult<DiskUsage> disk_usage(const Caller& caller) override;
  MResult<std::string>
  export_checkpoint(const Caller& caller, const std::string& job,
                    const std::string& checkpoint,
                    std::shared_ptr<const util::UniqueFd> file) override;
  MResult<std::string> import_checkpoint(const Caller& caller,
                                         std::shared_ptr<const util::UniqueFd> file,
                                         const std::string& job) override;
  MResult<FsckInfo> fsck(const Caller& caller, bool verify_data) override;
  MResult<GcInfo> collect_garbage(const Caller& caller) override;
  MResult<ReloadChanges> reload(const Caller& caller) override;
  MResult<DaemonStatus> status(const Caller& caller) override;
  MResult<EngineInfo> engine_info(const Caller& caller) override;
  MResult<std::string> metrics(const Caller& caller) override;
  void set_event_sink(EventSink sink) override;
  bool may_see(const Caller& caller, const Event& event) const override;

private:
  // A job as the manager runs it: policy jobs and ad-hoc jobs alike; also a
  // name whose checkpoints outlived their job (orphans.cpp): a former name of
  // a job (`formerly`: the job's settings and access under the old name,
  // renamed_to set) or a job of the store no policy names (orphan: the
  // defaults, root only, the orphan-retention setting).
  struct JobEntry {
    std::shared_ptr<const policy::Job> job;
    bool adhoc = false;
    std::string policy_file;
    bool orphan = false;
    std::string renamed_to;
  };
  using JobMap = std::map<std::string, JobEntry>;

  // The process a CheckpointProcess call named, pinned at call time, and the
  // caller's uid (whose rights the dump runs with unless the caller is root).
  struct AdhocTarget {
    PinnedProcess process;
    uid_t caller = 0;
  };

  Manager(DaemonConfig config, store::Store store, std::unique_ptr<RunHistory> history,
          std::filesystem::path criu, HostInfo host, engine::Features features);

  // manager.cpp
  policy::PartialPolicyLoad load_policies() const;
  // Installs the jobs of a load: its set, the ad-hoc jobs, and the jobs of
  // the files it left out as they were before (none at start).
  void install_jobs(const policy::PartialPolicyLoad& load);
  void update_schedule();
  void emit(const Event& event);
  void on_fire(const std::string& job);

  // Finds a job the caller may do `action` on. A job the caller may not list
  // is NoSuchJob with the very message of a name no job has; a listed job the
  // caller may not act on is AccessDenied.
  MResult<JobEntry> authorized_job(const Caller& caller, const std::string& job,
                                   Action action) const;
  std::optional<JobEntry> find_job(const std::string& job) const;
  // True when the caller may list the job (for filtering runs and jobs).
  bool may_list(const Caller& caller, const std::string& job) const;

  // orphans.cpp
  // The entry of a former name (policy `formerly`) of a job; m_mutex held.
  std::optional<JobEntry> former_name_entry(const std::string& job) const;
  // Refuses a new checkpoint of an orphan or of a former name, saying why.
  MResult<void> check_new_checkpoint_allowed(const JobEntry& entry) const;
  // The job of the store named `job` that no policy names (an orphan), as
  // root may list, restore and delete its checkpoints; nothing when the store
  // has no such job or a job (or a former name) has that name.
  std::optional<JobEntry> orphan_job(const std::string& job) const;
  // Refuses a restore of an orphan's checkpoint of a container (the runtime's
  // settings were the policy's).
  MResult<void> check_orphan_restorable(const JobEntry& entry, std::uint64_t id) const;
  // Applies the orphan-retention setting to every orphan of the store (at
  // start and after each reload).
  void apply_orphan_retention();
  // Prunes the checkpoints stored under the job's former names by its
  // retention; returns "OLD/ID: keep|delete (reasons)" lines.
  std::vector<std::string> prune_former_names(const policy::Job& job, bool dry_run);

  // manager_queries.cpp
  JobInfo describe_job(const JobEntry& entry) const;
  MResult<std::uint64_t> existing_checkpoint(const std::string& job,
                                             const std::string& checkpoint) const;

  // checkpoint_run.cpp (caller: who asked, 0 for root and scheduled runs)
  MResult<std::string> submit_checkpoint(const JobEntry& entry,
                                         const CheckpointOptions& options,
                                         std::optional<AdhocTarget> adhoc, bool scheduled,
                                         uid_t caller);
  RunOutcome run_checkpoint(RunContext& context, const JobEntry& entry,
                            const CheckpointOptions& options,
                            const std::optional<AdhocTarget>& adhoc);
  void apply_retention(const JobEntry& entry, const std::string& run_id);

  // A lazy restore from a registry (Restore with From): where from, and what
  // storing the checkpoint afterwards may add.
  struct RegistryRestore {
    remote::Reference ref;
    remote::ClientOptions client;
    store::StoreLimits limits;
  };

  // restore_run.cpp (with from: the checkpoint comes from a registry, and
  // checkpoint is unused)
  RunOutcome run_restore(RunContext& context, const JobEntry& entry,
                         std::uint64_t checkpoint, const RestoreOptions& options,
                         uid_t caller,
                         const std::optional<RegistryRestore>& from = std::nullopt);

  // restore_remote.cpp: Restore with From, and the end of such a run: the
  // background fill, then the checkpoint stored (or the tree killed when its
  // memory cannot all come).
  MResult<std::string> restore_from_registry(const Caller& caller, const std::string& job,
                                             const std::string& checkpoint,
                                             const RestoreOptions& options);
  Result<std::unique_ptr<remote::LazyPull>>
  open_registry_restore(const RegistryRestore& from, const std::string& run_id);
  void finish_registry_restore(RunContext& context, const JobEntry& entry,
                               remote::LazyPull& pull, const RegistryRestore& from,
                               RunOutcome& outcome);

  // remote_run.cpp: pushes and pulls. attempt is set for the pushes
  // replication makes (retried with backoff, then remote retention).
  MResult<std::string> submit_push(const JobEntry& entry, std::uint64_t id,
                                   const remote::Reference& ref,
                                   const remote::ClientOptions& client,
                                   const std::string& origin, uid_t caller,
                                   std::optional<unsigned> attempt);
  RunOutcome run_push(RunContext& context, const JobEntry& entry, std::uint64_t id,
                      const remote::Reference& ref, const remote::ClientOptions& client,
                      const std::string& origin, std::optional<unsigned> attempt);
  // push_container_image.cpp: podman's own checkpoint image of checkpoint id,
  // tagged TAG.podman for each of checkpoint_tags.
  Result<remote::PushReport> push_container_image(
      RunContext& context, const policy::Job& job, std::uint64_t id,
      const remote::Reference& ref, const remote::ClientOptions& client,
      const std::vector<std::string>& checkpoint_tags);
  // Queues a run that brings a checkpoint into entry's job; a user's ad-hoc
  // job becomes known at once, so that she sees and may cancel the run (a
  // refused call, Busy, leaves no trace).
  MResult<std::string> submit_incoming(RunRequest request, const JobEntry& entry);
  // A job a caller may bring a checkpoint into (Pull, Import, a restore from
  // a registry): root any job
  // she may checkpoint, a user only her own job user-UID; and the limits
  // her quota leaves.
  MResult<JobEntry> incoming_job(const Caller& caller, const std::string& job);
  store::StoreLimits incoming_limits(const Caller& caller, const std::string& job) const;
  // The registry options of a job's replicate: (credentials and CA files read
  // here: root's policy names them).
  Result<remote::ClientOptions> replication_client(const policy::Job& job,
                                                   const remote::Reference& ref) const;
  // After a checkpoint was committed: queues its push when replicate: asks.
  void replicate_after_checkpoint(const JobEntry& entry, std::uint64_t id,
                                  bool scheduled);
  void retry_replication(const std::string& job, std::uint64_t id, unsigned attempt);
  void apply_remote_retention(const JobEntry& entry, const remote::Reference& ref,
                              const remote::ClientOptions& client,
                              const std::string& origin, const std::string& run_id);

  // adhoc.cpp
  JobEntry adhoc_job(uid_t uid, const CheckpointOptions& options);
  void load_adhoc_jobs();
  // Refuses a user's pinning of one more checkpoint of their ad-hoc job beyond
  // max_checkpoints_per_user pinned ones.
  MResult<void> check_pin_allowed(const Caller& caller, const std::string& job,
                                  bool pinned) const;
  // Before a checkpoint of a user's ad-hoc job is stored: refuses it when the
  // job's bytes in the store plus the dump's images would exceed the user's
  // quota (max_stored_bytes_per_user). Not for streamed dumps (the store is
  // locked meanwhile; checkpoint_process refuses Stream under a quota).
  Result<void> check_user_quota(const JobEntry& entry,
                                const std::filesystem::path& images) const;
  // True when check_user_quota may refuse a checkpoint of the job.
  bool under_quota(const JobEntry& entry) const;

  // manager_metrics.cpp
  Metrics collect_metrics(const Caller& caller) const;
  // Starts the writer of the metrics-file setting (if set).
  void start_metrics_file();
  // Asks for a new metrics file after events that change what it says.
  void poke_metrics_file(const Event& event);

  // A fresh per-run work directory under state_dir/work (0700).
  Result<std::filesystem::path> make_work_dir(const std::string& run_id) const;

  // Held for the manager's lifetime (released last): the state dir's runs
  // are ours; declared first so that it outlives every run.
  store::DaemonLease m_lease;
  DaemonConfig m_config;
  SystemClock m_clock;
  mutable store::Store m_store;
  std::unique_ptr<RunHistory> m_history;
  std::filesystem::path m_criu;
  HostInfo m_host;
  engine::Features m_features;
  LinuxProcessTable m_processes;

  mutable std::mutex m_mutex; // guards m_jobs, m_former_names and m_policy_problems
  JobMap m_jobs;
  // A job's former name (policy `formerly`) -> its name now.
  std::map<std::string, std::string> m_former_names;
  // What the last policy load left out (see policy::PartialPolicyLoad).
  std::size_t m_bad_policy_files = 0;
  std::vector<std::string> m_policy_problems;
  std::mutex m_reload_mutex;

  std::mutex m_sink_mutex;
  EventSink m_sink;

  ChildReaper m_children; // restored trees that are children of stasisd
  std::unique_ptr<RunQueue> m_queue;
  std::unique_ptr<Scheduler> m_scheduler;
  // Failed pushes waiting for their retry; stopped before the queue goes.
  DelayedTasks m_retries;
  // Last: destroyed first, it waits for lazy restores still serving pages.
  LazyRestores m_lazy;
  // The metrics-file writer (null without the setting): it reads the members
  // above, so it goes before them.
  std::unique_ptr<MetricsFileWriter> m_metrics_file;
};

// This host's name as a registry tag's origin part ([A-Za-z0-9_.], at most
// 32 characters; others become '_').
std::string remote_origin_of_this_host();

// Whether a job's pushes add the container runtime's own checkpoint image
// (podman targets, unless replicate.podman-image is false).
bool pushes_container_image(const policy::Job& job);

// The uid an ad-hoc job "user-<uid>" belongs to; nothing for other names.
std::optional<uid_t> adhoc_uid(const std::string& job);

// A stored checkpoint as ListCheckpoints tells it.
CheckpointInfo checkpoint_info(const store::CheckpointSummary& summary);

// Parses a checkpoint id ("42"); InvalidArgument when it is not one.
MResult<std::uint64_t> parse_checkpoint_id(const std::string& text);

// The longest caller-given name (job, run id, checkpoint id) an error message
// quotes in full; longer ones are cut there and marked with "...". Job names
// are at most 63 characters (policy::k_job_name_pattern), run ids shorter.
inline constexpr std::size_t k_max_quoted_name = 64;

// A caller-given name for an error message, cut at k_max_quoted_name.
std::string quoted_name(const std::string& name);

// The errors for a job or run the caller cannot see: the same whether it does
// not exist or belongs to someone else, naming only what the caller sent.
Unexpected<ManagerError> no_such_job(const std::string& job);
Unexpected<ManagerError> no_such_run(const std::string& run);

} // namespace stasis::manager
