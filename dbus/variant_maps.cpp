#include "dbus/variant_maps.hpp"

#include <array>
#include <chrono>

namespace stasis::dbus {
namespace {

using namespace manager;

// Reads map[key] as T, or returns the fallback when absent or of another type.
template <typename T>
T read(const VariantMap& map, const std::string& key, T fallback = T{}) {
  const auto it = map.find(key);
  if (it == map.end() || !it->second.containsValueOfType<T>()) {
    return fallback;
  }
  return it->second.get<T>();
}

} // namespace

std::uint64_t to_usec(const std::optional<TimePoint>& time) {
  if (!time) {
    return 0;
  }
  const auto usec =
      std::chrono::duration_cast<std::chrono::microseconds>(time->time_since_epoch());
  return usec.count() > 0 ? static_cast<std::uint64_t>(usec.count()) : 0;
}

std::optional<TimePoint> from_usec(std::uint64_t usec) {
  if (usec == 0) {
    return std::nullopt;
  }
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::microseconds(static_cast<std::int64_t>(usec))));
}

VariantMap to_variant_map(const JobInfo& job) {
  return {
      {"Name", job.name},
      {"Description", job.description},
      {"Target", job.target},
      {"Schedule", job.schedule},
      {"Enabled", job.enabled},
      {"NextRun", to_usec(job.next_run)},
      {"LastRun", to_usec(job.last_run)},
      {"LastResult", job.last_result},
      {"Checkpoints", job.checkpoints},
      {"PolicyFile", job.policy_file},
      {"Fingerprint", job.fingerprint},
      {"ShellJob", job.shell_job},
      {"LeaveRunning", job.leave_running},
      {"LastPush", to_usec(job.last_push)},
      {"LastPushResult", job.last_push_result},
      {"LastPushRemote", job.last_push_remote},
  };
}

VariantMap to_variant_map(const RunInfo& run) {
  return {
      {"Id", run.id},
      {"Job", run.job},
      {"Kind", to_string(run.kind)},
      {"State", to_string(run.state)},
      {"Checkpoint", run.checkpoint},
      {"Pid", static_cast<std::uint32_t>(run.pid > 0 ? run.pid : 0)},
      {"Error", run.error},
      {"FrozenUsec", run.frozen_usec},
      {"LogicalBytes", run.logical_bytes},
      {"StoredBytes", run.stored_bytes},
      {"Remote", run.remote},
      {"Started", to_usec(run.started)},
      {"Finished", to_usec(run.finished)},
  };
}

VariantMap to_variant_map(const CheckpointInfo& checkpoint) {
  return {
      {"Id", checkpoint.id},
      {"Created", to_usec(checkpoint.created)},
      {"Previous", checkpoint.previous},
      {"Pinned", checkpoint.pinned},
      {"LogicalBytes", checkpoint.logical_bytes},
      {"StoredBytes", checkpoint.stored_bytes},
      {"Fingerprint", checkpoint.fingerprint},
      {"CriuVersion", checkpoint.criu_version},
      {"FrozenUsec", checkpoint.frozen_usec},
      {"Problem", checkpoint.problem},
      {"Job", checkpoint.job},
      {"Orphan", checkpoint.orphan},
      {"RenamedTo", checkpoint.renamed_to},
  };
}

VariantMap to_variant_map(const EngineInfo& engine) {
  return {
      {"CriuPath", engine.criu_path}, {"CriuVersion", engine.criu_version},
      {"MemTrack", engine.mem_track}, {"LazyPages", engine.lazy_pages},
      {"Kernel", engine.kernel},
  };
}

VariantMap to_variant_map(const ReloadChanges& changes) {
  return {
      {"Added", changes.added},
      {"Removed", changes.removed},
      {"Changed", changes.changed},
      {"Problems", changes.problems},
  };
}

VariantMap to_variant_map(const DaemonStatus& status) {
  return {
      {"Version", status.version},
      {"BadPolicyFiles", status.bad_policy_files},
      {"PolicyProblems", status.policy_problems},
  };
}

JobInfo job_from(const VariantMap& map) {
  JobInfo job;
  job.name = read<std::string>(map, "Name");
  job.description = read<std::string>(map, "Description");
  job.target = read<std::string>(map, "Target");
  job.schedule = read<std::string>(map, "Schedule");
  job.enabled = read<bool>(map, "Enabled", true);
  job.next_run = from_usec(read<std::uint64_t>(map, "NextRun"));
  job.last_run = from_usec(read<std::uint64_t>(map, "LastRun"));
  job.last_result = read<std::string>(map, "LastResult");
  job.checkpoints = read<std::uint32_t>(map, "Checkpoints");
  job.policy_file = read<std::string>(map, "PolicyFile");
  job.fingerprint = read<std::string>(map, "Fingerprint");
  job.shell_job = read<bool>(map, "ShellJob");
  job.leave_running = read<bool>(map, "LeaveRunning");
  job.last_push = from_usec(read<std::uint64_t>(map, "LastPush"));
  job.last_push_result = read<std::string>(map, "LastPushResult");
  job.last_push_remote = read<std::string>(map, "LastPushRemote");
  return job;
}

RunInfo run_from(const VariantMap& map) {
  RunInfo run;
  run.id = read<std::string>(map, "Id");
  run.job = read<std::string>(map, "Job");
  run.kind = run_kind_from(read<std::string>(map, "Kind")).value_or(RunKind::Checkpoint);
  run.state = run_state_from(read<std::string>(map, "State")).value_or(RunState::Queued);
  run.checkpoint = read<std::string>(map, "Checkpoint");
  run.pid = static_cast<pid_t>(read<std::uint32_t>(map, "Pid"));
  run.error = read<std::string>(map, "Error");
  run.frozen_usec = read<std::uint64_t>(map, "FrozenUsec");
  run.logical_bytes = read<std::uint64_t>(map, "LogicalBytes");
  run.stored_bytes = read<std::uint64_t>(map, "StoredBytes");
  run.remote = read<std::string>(map, "Remote");
  run.started = from_usec(read<std::uint64_t>(map, "Started"));
  run.finished = from_usec(read<std::uint64_t>(map, "Finished"));
  return run;
}

CheckpointInfo checkpoint_from(const VariantMap& map) {
  CheckpointInfo checkpoint;
  checkpoint.id = read<std::string>(map, "Id");
  checkpoint.created =
      from_usec(read<std::uint64_t>(map, "Created")).value_or(TimePoint{});
  checkpoint.previous = read<std::string>(map, "Previous");
  checkpoint.pinned = read<bool>(map, "Pinned");
  checkpoint.logical_bytes = read<std::uint64_t>(map, "LogicalBytes");
  checkpoint.stored_bytes = read<std::uint64_t>(map, "StoredBytes");
  checkpoint.fingerprint = read<std::string>(map, "Fingerprint");
  checkpoint.criu_version = read<std::string>(map, "CriuVersion");
  checkpoint.frozen_usec = read<std::uint64_t>(map, "FrozenUsec");
  checkpoint.problem = read<std::string>(map, "Problem");
  checkpoint.job = read<std::string>(map, "Job");
  checkpoint.orphan = read<bool>(map, "Orphan");
  checkpoint.renamed_to = read<std::string>(map, "RenamedTo");
  return checkpoint;
}

EngineInfo engine_from(const VariantMap& map) {
  EngineInfo engine;
  engine.criu_path = read<std::string>(map, "CriuPath");
  engine.criu_version = read<std::string>(map, "CriuVersion");
  engine.mem_track = read<bool>(map, "MemTrack");
  engine.lazy_pages = read<bool>(map, "LazyPages");
  engine.kernel = read<std::string>(map, "Kernel");
  return engine;
}

ReloadChanges reload_changes_from(const VariantMap& map) {
  using Names = std::vector<std::string>;
  return ReloadChanges{read<Names>(map, "Added"), read<Names>(map, "Removed"),
                       read<Names>(map, "Changed"), read<Names>(map, "Problems")};
}

DaemonStatus status_from(const VariantMap& map) {
  DaemonStatus status;
  status.version = read<std::string>(map, "Version");
  status.bad_policy_files = read<std::uint32_t>(map, "BadPolicyFiles");
  status.policy_problems = read<std::vector<std::string>>(map, "PolicyProblems");
  return status;
}

std::optional<RunKind> run_kind_from(const std::string& text) {
  for (const auto kind : {RunKind::Checkpoint, RunKind::Restore, RunKind::Push,
                          RunKind::Pull, RunKind::Export, RunKind::Import}) {
    if (to_string(kind) == text) {
      return kind;
    }
  }
  return std::nullopt;
}

std::optional<RunState> run_state_from(const std::string& text) {
  constexpr std::array k_states{
      RunState::Queued,    RunState::Running, RunState::Succeeded,  RunState::Failed,
      RunState::Cancelled, RunState::Skipped, RunState::Interrupted};
  for (const auto state : k_states) {
    if (to_string(state) == text) {
      return state;
    }
  }
  return std::nullopt;
}

VariantMap to_variant_map(const JobDiskUsage& job) {
  return {{"Job", job.job},
          {"Checkpoints", job.checkpoints},
          {"LogicalBytes", job.logical_bytes},
          {"StoredBytes", job.stored_bytes}};
}

VariantMap totals_to_variant_map(const DiskUsage& usage) {
  if (!usage.whole_store) {
    return {};
  }
  return {{"LogicalBytes", usage.logical_bytes},
          {"ReferencedBytes", usage.referenced_bytes},
          {"PackBytes", usage.pack_bytes},
          {"ManifestBytes", usage.manifest_bytes}};
}

VariantMap to_variant_map(const FsckInfo& fsck) {
  return {{"Ok", fsck.ok},
          {"Packs", fsck.packs},
          {"Blobs", fsck.blobs},
          {"Checkpoints", fsck.checkpoints},
          {"TempFilesRemoved", fsck.temp_files_removed},
          {"OrphanPacksRemoved", fsck.orphan_packs_removed},
          {"Problems", fsck.problems}};
}

VariantMap to_variant_map(const GcInfo& gc) {
  return {{"PacksDeleted", gc.packs_deleted},
          {"PacksRepacked", gc.packs_repacked},
          {"BytesFreed", gc.bytes_freed}};
}

DiskUsage disk_usage_from(const std::vector<VariantMap>& jobs, const VariantMap& totals) {
  DiskUsage usage;
  for (const auto& map : jobs) {
    usage.jobs.push_back(JobDiskUsage{read<std::string>(map, "Job"),
                                      read<std::uint64_t>(map, "Checkpoints"),
                                      read<std::uint64_t>(map, "LogicalBytes"),
                                      read<std::uint64_t>(map, "StoredBytes")});
  }
  usage.whole_store = !totals.empty();
  usage.logical_bytes = read<std::uint64_t>(totals, "LogicalBytes");
  usage.referenced_bytes = read<std::uint64_t>(totals, "ReferencedBytes");
  usage.pack_bytes = read<std::uint64_t>(totals, "PackBytes");
  usage.manifest_bytes = read<std::uint64_t>(totals, "ManifestBytes");
  return usage;
}

FsckInfo fsck_from(const VariantMap& map) {
  FsckInfo fsck;
  fsck.ok = read<bool>(map, "Ok", true);
  fsck.packs = read<std::uint64_t>(map, "Packs");
  fsck.blobs = read<std::uint64_t>(map, "Blobs");
  fsck.checkpoints = read<std::uint64_t>(map, "Checkpoints");
  fsck.temp_files_removed = read<std::uint64_t>(map, "TempFilesRemoved");
  fsck.orphan_packs_removed = read<std::uint64_t>(map, "OrphanPacksRemoved");
  fsck.problems = read<std::vector<std::string>>(map, "Problems");
  return fsck;
}

GcInfo gc_from(const VariantMap& map) {
  return GcInfo{read<std::uint64_t>(map, "PacksDeleted"),
                read<std::uint64_t>(map, "PacksRepacked"),
                read<std::uint64_t>(map, "BytesFreed")};
}

} // namespace stasis::dbus
