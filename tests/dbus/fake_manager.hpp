// A fake ManagerApi for the D-Bus translation tests: records what arrived
// (caller and arguments), answers with canned values, and fails every call
// with `error` when set. The real manager is tested in the unit/e2e tiers.
#pragma once

#include "manager/api.hpp"

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace stasis::test {

class FakeManager final : public manager::ManagerApi {
public:
  // What the last call received.
  struct Received {
    std::string method{};
    manager::Caller caller{};
    std::string job{};
    std::string checkpoint{};
    std::string run{};
    pid_t pid = 0;
    std::uint32_t limit = 0;
    bool flag = false; // pinned / dry_run
    manager::CheckpointOptions checkpoint_options{};
    manager::RestoreOptions restore_options{};
    std::string reference{};
    manager::RemoteOptions remote_options{};
    // Export/Import: the first bytes readable from (import) the descriptor
    // received, or whether one was received at all (export).
    std::string file_text{};
    bool got_file = false;
  };

  // When set, every call fails with this error.
  std::optional<manager::ManagerError> error;

  // Canned answers.
  manager::JobInfo job;
  manager::RunInfo run;
  manager::CheckpointInfo checkpoint_info;
  // ListCheckpoints' answer when set (else checkpoint_info alone).
  std::optional<std::vector<manager::CheckpointInfo>> checkpoints;
  manager::EngineInfo engine;
  manager::ReloadChanges changes;
  manager::DaemonStatus daemon_status;
  std::string metrics_text;
  manager::VerifyReport report;
  std::vector<std::string> decisions;
  manager::DiskUsage usage;
  manager::FsckInfo fsck_info;
  manager::GcInfo gc_info;

  FakeManager();

  // A copy of what the last call received.
  Received last() const;

  // Sends an event to the registered sink, as a worker thread would.
  void announce(const manager::Event& event);

  std::string version() const override { return "9.8.7"; }
  manager::MResult<std::vector<manager::JobInfo>>
  list_jobs(const manager::Caller& caller) override;
  manager::MResult<manager::JobInfo> get_job(const manager::Caller& caller,
                                             const std::string& job) override;
  manager::MResult<std::string>
  checkpoint(const manager::Caller& caller, const std::string& job,
             const manager::CheckpointOptions& options) override;
  manager::MResult<std::string>
  checkpoint_process(const manager::Caller& caller, pid_t pid,
                     const manager::CheckpointOptions& options) override;
  manager::MResult<std::string> restore(const manager::Caller& caller,
                                        const std::string& job,
                                        const std::string& checkpoint,
                                        const manager::RestoreOptions& options) override;
  manager::MResult<std::string> push(const manager::Caller& caller,
                                     const std::string& job,
                                     const std::string& checkpoint,
                                     const std::string& reference,
                                     const manager::RemoteOptions& options) override;
  manager::MResult<std::string> pull(const manager::Caller& caller,
                                     const std::string& reference, const std::string& job,
                                     const manager::RemoteOptions& options) override;
  manager::MResult<void> cancel_run(const manager::Caller& caller,
                                    const std::string& run) override;
  manager::MResult<manager::RunInfo> get_run(const manager::Caller& caller,
                                             const std::string& run_id) override;
  manager::MResult<std::vector<manager::RunInfo>> list_runs(const manager::Caller& caller,
                                                            const std::string& job,
                                                            std::uint32_t limit) override;
  manager::MResult<std::vector<manager::CheckpointInfo>>
  list_checkpoints(const manager::Caller& caller, const std::string& job) override;
  manager::MResult<std::vector<manager::CheckpointInfo>>
  list_all_checkpoints(const manager::Caller& caller) override;
  manager::MResult<void> delete_checkpoint(const manager::Caller& caller,
                                           const std::string& job,
                                           const std::string& checkpoint) override;
  manager::MResult<void> pin_checkpoint(const manager::Caller& caller,
                                        const std::string& job,
                                        const std::string& checkpoint,
                                        bool pinned) override;
  manager::MResult<std::vector<std::string>>
  prune(const manager::Caller& caller, const std::string& job, bool dry_run) override;
  manager::MResult<manager::VerifyReport> verify(const manager::Caller& caller,
                                                 const std::string& job,
                                                 const std::string& checkpoint) override;
  manager::MResult<manager::DiskUsage> disk_usage(const manager::Caller& caller) override;
  manager::MResult<std::string>
  export_checkpoint(const manager::Caller& caller, const std::string& job,
                    const std::string& checkpoint,
                    std::shared_ptr<const util::UniqueFd> file) override;
  manager::MResult<std::string>
  import_checkpoint(const manager::Caller& caller,
                    std::shared_ptr<const util::UniqueFd> file,
                    const std::string& job) override;
  manager::MResult<manager::FsckInfo> fsck(const manager::Caller& caller,
                                           bool verify_data) override;
  manager::MResult<manager::GcInfo>
  collect_garbage(const manager::Caller& caller) override;
  manager::MResult<std::string>
  inspect_checkpoint(const manager::Caller& caller, const std::string& job,
                     const std::string& checkpoint) override;
  manager::MResult<std::string> diff_checkpoints(const manager::Caller& caller,
                                                 const std::string& job,
                                                 const std::string& from,
                                                 const std::string& to) override;
  manager::MResult<manager::ReloadChanges> reload(const manager::Caller& caller) override;
  manager::MResult<manager::DaemonStatus> status(const manager::Caller& caller) override;
  manager::MResult<std::string> metrics(const manager::Caller& caller) override;
  manager::MResult<std::string> run_log(const manager::Caller& caller,
                                        const std::string& run_id) override;
  manager::MResult<manager::EngineInfo>
  engine_info(const manager::Caller& caller) override;
  void set_event_sink(manager::EventSink sink) override;
  // Everyone may see everything: who sees what is the real manager's business
  // (daemon_visibility_test.cpp); here only the delivery to subscribers counts.
  bool may_see(const manager::Caller&, const manager::Event&) const override {
    return true;
  }

private:
  // Records a call; returns the configured error, if any.
  std::optional<manager::ManagerError> record(Received received);

  mutable std::mutex m_mutex;
  Received m_last;
  manager::EventSink m_sink;
};

} // namespace stasis::test
