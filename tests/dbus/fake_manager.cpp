#include "tests/dbus/fake_manager.hpp"

#include <unistd.h>

namespace stasis::test {

using namespace manager;

namespace {

// Builds a failed result of any type from an error.
Unexpected<ManagerError> as_failure(const ManagerError& error) {
  return Unexpected<ManagerError>(error);
}

} // namespace

FakeManager::FakeManager() {
  job.name = "web";
  job.description = "the web app";
  job.target = "cgroup /sys/fs/cgroup/web";
  job.schedule = "every 15m";
  job.next_run = TimePoint(std::chrono::seconds(1'700'000'000));
  job.last_result = "succeeded";
  job.checkpoints = 3;
  job.policy_file = "/etc/stasis/policy.d/web.yaml";
  job.fingerprint = "f00d";

  run.id = "run-42";
  run.job = "web";
  run.kind = RunKind::Restore;
  run.state = RunState::Succeeded;
  run.checkpoint = "ckpt-1";
  run.pid = 4242;
  run.frozen_usec = 1234;
  run.logical_bytes = 1ULL << 40;
  run.stored_bytes = 77;
  run.started = TimePoint(std::chrono::microseconds(1'700'000'000'123'456));

  checkpoint_info.id = "ckpt-1";
  checkpoint_info.created = TimePoint(std::chrono::seconds(1'700'000'100));
  checkpoint_info.previous = "ckpt-0";
  checkpoint_info.pinned = true;
  checkpoint_info.logical_bytes = 100;
  checkpoint_info.stored_bytes = 50;
  checkpoint_info.criu_version = "4.2.1";

  engine = EngineInfo{"/opt/stasis/criu/bin/criu", "4.2.1", false, true, "6.18.0"};
  changes = ReloadChanges{{"a"}, {"b", "c"}, {}, {}};
  report = VerifyReport{false, {"chunk 12ab is missing"}};
  decisions = {"ckpt-0: delete (beyond keep-last 1)", "ckpt-1: keep (pinned)"};
}

FakeManager::Received FakeManager::last() const {
  std::lock_guard lock(m_mutex);
  return m_last;
}

void FakeManager::announce(const Event& event) {
  EventSink sink;
  {
    std::lock_guard lock(m_mutex);
    sink = m_sink;
  }
  if (sink) {
    sink(event);
  }
}

void FakeManager::set_event_sink(EventSink sink) {
  std::lock_guard lock(m_mutex);
  m_sink = std::move(sink);
}

std::optional<ManagerError> FakeManager::record(Received received) {
  std::lock_guard lock(m_mutex);
  m_last = std::move(received);
  return error;
}

MResult<std::vector<JobInfo>> FakeManager::list_jobs(const Caller& caller) {
  if (auto failure = record({.method = "list_jobs", .caller = caller})) {
    return as_failure(*failure);
  }
  auto other = job;
  other.name = "db";
  return std::vector<JobInfo>{job, other};
}

MResult<JobInfo> FakeManager::get_job(const Caller& caller, const std::string& name) {
  if (auto failure = record({.method = "get_job", .caller = caller, .job = name})) {
    return as_failure(*failure);
  }
  return job;
}

MResult<std::string> FakeManager::checkpoint(const Caller& caller,
                                             const std::string& name,
                                             const CheckpointOptions& options) {
  if (auto failure = record({.method = "checkpoint",
                             .caller = caller,
                             .job = name,
                             .checkpoint_options = options})) {
    return as_failure(*failure);
  }
  return std::string("run-1");
}

MResult<std::string> FakeManager::checkpoint_process(const Caller& caller, pid_t pid,
                                                     const CheckpointOptions& options) {
  if (auto failure = record({.method = "checkpoint_process",
                             .caller = caller,
                             .pid = pid,
                             .checkpoint_options = options})) {
    return as_failure(*failure);
  }
  return std::string("run-2");
}

MResult<std::string> FakeManager::push(const Caller& caller, const std::string& name,
                                       const std::string& checkpoint,
                                       const std::string& reference,
                                       const RemoteOptions& options) {
  if (auto failure = record({.method = "push",
                             .caller = caller,
                             .job = name,
                             .checkpoint = checkpoint,
                             .reference = reference,
                             .remote_options = options})) {
    return as_failure(*failure);
  }
  return std::string("run-5");
}

MResult<std::string> FakeManager::pull(const Caller& caller, const std::string& reference,
                                       const std::string& name,
                                       const RemoteOptions& options) {
  if (auto failure = record({.method = "pull",
                             .caller = caller,
                             .job = name,
                             .reference = reference,
                             .remote_options = options})) {
    return as_failure(*failure);
  }
  return std::string("run-6");
}

MResult<std::string> FakeManager::restore(const Caller& caller, const std::string& name,
                                          const std::string& checkpoint,
                                          const RestoreOptions& options) {
  if (auto failure = record({.method = "restore",
                             .caller = caller,
                             .job = name,
                             .checkpoint = checkpoint,
                             .restore_options = options})) {
    return as_failure(*failure);
  }
  return std::string("run-3");
}

MResult<void> FakeManager::cancel_run(const Caller& caller, const std::string& id) {
  if (auto failure = record({.method = "cancel_run", .caller = caller, .run = id})) {
    return as_failure(*failure);
  }
  return {};
}

MResult<RunInfo> FakeManager::get_run(const Caller& caller, const std::string& id) {
  if (auto failure = record({.method = "get_run", .caller = caller, .run = id})) {
    return as_failure(*failure);
  }
  return run;
}

MResult<std::vector<RunInfo>> FakeManager::list_runs(const Caller& caller,
                                                     const std::string& name,
                                                     std::uint32_t limit) {
  if (auto failure = record(
          {.method = "list_runs", .caller = caller, .job = name, .limit = limit})) {
    return as_failure(*failure);
  }
  return std::vector<RunInfo>{run};
}

MResult<std::vector<CheckpointInfo>>
FakeManager::list_checkpoints(const Caller& caller, const std::string& name) {
  if (auto failure =
          record({.method = "list_checkpoints", .caller = caller, .job = name})) {
    return as_failure(*failure);
  }
  return checkpoints.value_or(std::vector<CheckpointInfo>{checkpoint_info});
}

MResult<std::vector<CheckpointInfo>>
FakeManager::list_all_checkpoints(const Caller& caller) {
  if (auto failure = record({.method = "list_all_checkpoints", .caller = caller})) {
    return as_failure(*failure);
  }
  return checkpoints.value_or(std::vector<CheckpointInfo>{checkpoint_info});
}

MResult<void> FakeManager::delete_checkpoint(const Caller& caller,
                                             const std::string& name,
                                             const std::string& checkpoint) {
  if (auto failure = record({.method = "delete_checkpoint",
                             .caller = caller,
                             .job = name,
                             .checkpoint = checkpoint})) {
    return as_failure(*failure);
  }
  return {};
}

MResult<void> FakeManager::pin_checkpoint(const Caller& caller, const std::string& name,
                                          const std::string& checkpoint, bool pinned) {
  if (auto failure = record({.method = "pin_checkpoint",
                             .caller = caller,
                             .job = name,
                             .checkpoint = checkpoint,
                             .flag = pinned})) {
    return as_failure(*failure);
  }
  return {};
}

MResult<std::vector<std::string>>
FakeManager::prune(const Caller& caller, const std::string& name, bool dry_run) {
  if (auto failure =
          record({.method = "prune", .caller = caller, .job = name, .flag = dry_run})) {
    return as_failure(*failure);
  }
  return decisions;
}

MResult<VerifyReport> FakeManager::verify(const Caller& caller, const std::string& name,
                                          const std::string& checkpoint) {
  if (auto failure = record({.method = "verify",
                             .caller = caller,
                             .job = name,
                             .checkpoint = checkpoint})) {
    return as_failure(*failure);
  }
  return report;
}

MResult<DiskUsage> FakeManager::disk_usage(const Caller& caller) {
  if (auto failure = record({.method = "disk_usage", .caller = caller})) {
    return as_failure(*failure);
  }
  return usage;
}

MResult<std::string>
FakeManager::export_checkpoint(const Caller& caller, const std::string& name,
                               const std::string& checkpoint,
                               std::shared_ptr<const util::UniqueFd> file) {
  if (auto failure = record({.method = "export",
                             .caller = caller,
                             .job = name,
                             .checkpoint = checkpoint,
                             .got_file = file && *file})) {
    return as_failure(*failure);
  }
  if (file && *file) {
    const std::string text = "exported";
    (void)!::write(file->get(), text.data(), text.size());
  }
  return std::string("run-7");
}

MResult<std::string>
FakeManager::import_checkpoint(const Caller& caller,
                               std::shared_ptr<const util::UniqueFd> file,
                               const std::string& name) {
  std::string text(64, '\0');
  const ssize_t n = file && *file ? ::read(file->get(), text.data(), text.size()) : -1;
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  if (auto failure = record({.method = "import",
                             .caller = caller,
                             .job = name,
                             .file_text = text,
                             .got_file = file && *file})) {
    return as_failure(*failure);
  }
  return std::string("run-8");
}

MResult<FsckInfo> FakeManager::fsck(const Caller& caller, bool verify_data) {
  if (auto failure = record({.method = "fsck", .caller = caller, .flag = verify_data})) {
    return as_failure(*failure);
  }
  return fsck_info;
}

MResult<GcInfo> FakeManager::collect_garbage(const Caller& caller) {
  if (auto failure = record({.method = "gc", .caller = caller})) {
    return as_failure(*failure);
  }
  return gc_info;
}

MResult<std::string> FakeManager::inspect_checkpoint(const Caller& caller,
                                                     const std::string& name,
                                                     const std::string& checkpoint) {
  if (auto failure = record({.method = "inspect_checkpoint",
                             .caller = caller,
                             .job = name,
                             .checkpoint = checkpoint})) {
    return as_failure(*failure);
  }
  return std::string(R"({"processes": []})");
}

MResult<std::string> FakeManager::diff_checkpoints(const Caller& caller,
                                                   const std::string& name,
                                                   const std::string& from,
                                                   const std::string& to) {
  if (auto failure = record({.method = "diff_checkpoints",
                             .caller = caller,
                             .job = name,
                             .checkpoint = from + ".." + to})) {
    return as_failure(*failure);
  }
  return std::string(R"({"memory": {}})");
}

MResult<ReloadChanges> FakeManager::reload(const Caller& caller) {
  if (auto failure = record({.method = "reload", .caller = caller})) {
    return as_failure(*failure);
  }
  return changes;
}

MResult<DaemonStatus> FakeManager::status(const Caller& caller) {
  if (auto failure = record({.method = "status", .caller = caller})) {
    return as_failure(*failure);
  }
  return daemon_status;
}

MResult<std::string> FakeManager::run_log(const Caller& caller,
                                          const std::string& run_id) {
  if (auto failure = record({.method = "run_log", .caller = caller})) {
    return as_failure(*failure);
  }
  return "log of " + run_id;
}

MResult<std::string> FakeManager::metrics(const Caller& caller) {
  if (auto failure = record({.method = "metrics", .caller = caller})) {
    return as_failure(*failure);
  }
  return metrics_text;
}

MResult<EngineInfo> FakeManager::engine_info(const Caller& caller) {
  if (auto failure = record({.method = "engine_info", .caller = caller})) {
    return as_failure(*failure);
  }
  return engine;
}

} // namespace stasis::test
