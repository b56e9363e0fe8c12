// Ad-hoc jobs: CheckpointProcess puts a caller's own process into the job
// "user-<uid>", which only that uid (and root) may list, restore or delete.
// The limits of stasisd's settings (daemon_config.hpp) on what users other
// than root may make it do are checked here.
#include "manager/adhoc.hpp"

#include "manager/manager.hpp"
#include "manager/ownership.hpp"
#include "policy/loader.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <charconv>

namespace stasis::manager {
namespace {

static_assert(std::string_view(k_adhoc_job_prefix) == policy::k_reserved_job_prefix);

namespace fs = std::filesystem;

// The bytes a job takes in the store: the unique blobs its checkpoints refer
// to.
Result<std::uint64_t> job_stored_bytes(const store::Store& store,
                                       const std::string& job) {
  auto usage = STASIS_TRY(store.job_usage(job));
  return usage.stored_bytes;
}

// The bytes of the files of an images dir (what storing them could add, at
// most, before deduplication and compression).
Result<std::uint64_t> images_bytes(const fs::path& images) {
  std::uint64_t total = 0;
  std::error_code error;
  for (fs::recursive_directory_iterator it(images, error), end; !error && it != end;
       it.increment(error)) {
    if (it->symlink_status(error).type() == fs::file_type::regular) {
      total += it->file_size(error);
    }
  }
  if (error) {
    return make_error("cannot measure the images in {}: {}", images.string(),
                      error.message());
  }
  return total;
}

// Where a setting is made, for messages.
std::string setting_hint(const char* setting) {
  return fmt::format("setting {}: stasisd --{} or {}", setting, setting,
                     k_default_config_file);
}

} // namespace

std::optional<uid_t> adhoc_uid(const std::string& job) {
  const std::string_view prefix = k_adhoc_job_prefix;
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
  job->name = fmt::format("{}{}", k_adhoc_job_prefix, uid);
  job->description = fmt::format("ad-hoc checkpoints of processes of uid {}", uid);
  job->target = policy::PidTarget{0};
  job->criu.leave_running = true;
  job->criu.shell_job = options.shell_job.value_or(false);
  job->criu.file_locks = options.file_locks.value_or(false);
  job->criu.tcp_established = options.tcp_established.value_or(false);
  job->criu.ext_unix_sk = options.ext_unix_sk.value_or(false);
  job->retention.keep_last = std::max(1U, m_config.max_checkpoints_per_user);
  const std::string owner = std::to_string(uid);
  for (auto* principals :
       {&job->access.list, &job->access.checkpoint, &job->access.restore,
        &job->access.remove, &job->access.exporting}) {
    principals->users = {owner};
  }
  job->fingerprint = "ad-hoc";
  return JobEntry{std::move(job), true, "", false, ""};
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
  if (!caller.is_root() && !m_config.adhoc_checkpoints) {
    return fail(ErrorCode::AccessDenied,
                "ad-hoc checkpoints (CheckpointProcess) are turned off on this host for "
                "users other than root ({})",
                setting_hint(k_setting_adhoc));
  }
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
  if (!caller.is_root() && options.stream.value_or(false) &&
      m_config.max_stored_bytes_per_user > 0) {
    return fail(ErrorCode::InvalidArgument,
                "Stream is not available under a per-user quota: a streamed checkpoint "
                "is stored while CRIU dumps, before its size is known ({}); checkpoint "
                "without it",
                setting_hint(k_setting_max_stored));
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
  }
  // A refused call (Busy) leaves no trace: no run, and no job if it had none.
  auto run = STASIS_TRY(submit_checkpoint(
      entry, options, AdhocTarget{std::move(*pinned), caller.uid}, false, caller.uid));
  {
    std::lock_guard lock(m_mutex);
    m_jobs[entry.job->name] = entry;
  }
  log::get("manager")->info(
      "uid {} asks for an ad-hoc checkpoint of pid {} (job {}, run {})", caller.uid, pid,
      entry.job->name, run);
  return run;
}

MResult<void> Manager::check_pin_allowed(const Caller& caller, const std::string& job,
                                         bool pinned) const {
  const auto uid = adhoc_uid(job);
  if (caller.is_root() || !pinned || !uid || *uid == 0) {
    return {};
  }
  auto checkpoints = m_store.list(job);
  if (!checkpoints) {
    return fail(ErrorCode::StoreFailed, "{}", checkpoints.error().message);
  }
  const auto already =
      std::count_if(checkpoints->begin(), checkpoints->end(),
                    [](const auto& checkpoint) { return checkpoint.pinned; });
  const unsigned limit = std::max(1U, m_config.max_checkpoints_per_user);
  if (static_cast<unsigned>(already) >= limit) {
    return fail(
        ErrorCode::InvalidArgument,
        "uid {} has {} checkpoints of job {} pinned, the most a user may pin ({}); "
        "unpin one first",
        *uid, already, job, setting_hint(k_setting_max_checkpoints));
  }
  return {};
}

bool Manager::under_quota(const JobEntry& entry) const {
  const auto uid = entry.adhoc ? adhoc_uid(entry.job->name) : std::nullopt;
  return uid && *uid != 0 && m_config.max_stored_bytes_per_user > 0;
}

Result<void> Manager::check_user_quota(const JobEntry& entry,
                                       const fs::path& images) const {
  if (!under_quota(entry)) {
    return ok();
  }
  const auto uid = adhoc_uid(entry.job->name);
  const std::uint64_t quota = m_config.max_stored_bytes_per_user;
  const std::uint64_t stored = STASIS_TRY(job_stored_bytes(m_store, entry.job->name));
  const std::uint64_t adding = STASIS_TRY(images_bytes(images));
  if (stored + adding > quota) {
    return make_error(
        "checkpoint refused before storing it: uid {} may keep {} bytes in the store "
        "({}), job {} takes {} bytes and this checkpoint's images take {} bytes; delete "
        "checkpoints of {} (stasisctl delete) or ask the administrator for more",
        *uid, quota, setting_hint(k_setting_max_stored), entry.job->name, stored, adding,
        entry.job->name);
  }
  return ok();
}

} // namespace stasis::manager
