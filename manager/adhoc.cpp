// Ad-hoc jobs: CheckpointProcess puts a caller's own process into the job
// "user-<uid>", which only that uid (and root) may list, restore or delete.
#include "manager/manager.hpp"
#include "manager/ownership.hpp"
#include "policy/loader.hpp"
#include "util/log.hpp"

#include <charconv>

namespace stasis::manager {
namespace {

// Policies may not name a job so (the loader refuses it).
constexpr std::string_view k_adhoc_prefix = policy::k_reserved_job_prefix;
constexpr unsigned k_adhoc_keep_last = 10;

} // namespace

std::optional<uid_t> adhoc_uid(const std::string& job) {
  const std::string_view prefix = k_adhoc_prefix;
  if (job.rfind(prefix, 0) != 0 || job.size() == prefix.size()) {
    return std::nullopt;
  }
  uid_t uid = 0;
  auto [end, error] =
      std::from_chars(job.data() + prefix.size(), job.data() + job.size(), uid);
  if (error != std::errc() || end != job.data() + job.size()) {
    return std::nullopt;
  }
  return uid;
}

Manager::JobEntry Manager::adhoc_job(uid_t uid, const CheckpointOptions& options) {
  auto job = std::make_shared<policy::Job>();
  job->name = fmt::format("{}{}", k_adhoc_prefix, uid);
  job->description = fmt::format("ad-hoc checkpoints of processes of uid {}", uid);
  job->target = policy::PidTarget{0};
  job->criu.leave_running = true;
  job->criu.shell_job = options.shell_job.value_or(false);
  job->criu.file_locks = options.file_locks.value_or(false);
  job->criu.tcp_established = options.tcp_established.value_or(false);
  job->criu.ext_unix_sk = options.ext_unix_sk.value_or(false);
  job->retention.keep_last = k_adhoc_keep_last;
  const std::string owner = std::to_string(uid);
  for (auto* principals : {&job->access.list, &job->access.checkpoint,
                           &job->access.restore, &job->access.remove}) {
    principals->users = {owner};
  }
  job->fingerprint = "ad-hoc";
  return JobEntry{std::move(job), true, ""};
}

void Manager::load_adhoc_jobs() {
  auto jobs = m_store.jobs();
  if (!jobs) {
    log::get("manager")->warn("cannot list the store's jobs: {}", jobs.error().message);
    return;
  }
  std::lock_guard lock(m_mutex);
  for (const auto& name : *jobs) {
    if (auto uid = adhoc_uid(name); uid && !m_jobs.contains(name)) {
      m_jobs[name] = adhoc_job(*uid, {});
    }
  }
}

MResult<std::string> Manager::checkpoint_process(const Caller& caller, pid_t pid,
                                                 const CheckpointOptions& options) {
  STASIS_TRY(check_own_process(caller, pid));
  // Pinned now: the dump runs later, on this process or not at all.
  auto pinned = PinnedProcess::pin(pid);
  if (!pinned) {
    return fail(ErrorCode::InvalidArgument, "{}", pinned.error().message);
  }
  if (!caller.is_root()) {
    auto tree = live_tree_creds(pid);
    if (!tree) {
      return fail(ErrorCode::InvalidArgument, "{}", tree.error().message);
    }
    if (auto owned = check_tree_owned_by(*tree, caller.uid); !owned) {
      return fail(ErrorCode::AccessDenied, "{}", owned.error().message);
    }
  }
  auto entry = adhoc_job(caller.uid, options);
  {
    std::lock_guard lock(m_mutex);
    auto existing = m_jobs.find(entry.job->name);
    if (existing != m_jobs.end() && !existing->second.adhoc) {
      return fail(ErrorCode::InvalidArgument,
                  "the policy defines a job named '{}', which ad-hoc checkpoints of uid "
                  "{} would use; rename that job",
                  entry.job->name, caller.uid);
    }
    m_jobs[entry.job->name] = entry;
  }
  log::get("manager")->info("uid {} asks for an ad-hoc checkpoint of pid {} (job {})",
                            caller.uid, pid, entry.job->name);
  return submit_checkpoint(entry, options, AdhocTarget{std::move(*pinned), caller.uid},
                           false);
}

} // namespace stasis::manager
