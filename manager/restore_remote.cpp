// Lazy restores from a registry (Restore with From): the run restores the
// tree from the checkpoint's small images and the pages CRIU restores itself,
// the rest served on demand by Range requests (remote/remote.hpp LazyPull);
// then, with the tree running, it downloads every bundle and stores the
// checkpoint as the job's next one. The run ends when the checkpoint is
// stored: a failure then (the registry gone, a damaged bundle) kills the
// tree, whose missing memory can no longer come, and stores nothing.
#include "manager/manager.hpp"
#include "manager/remote_options.hpp"
#include "util/log.hpp"

#include <csignal>
#include <sys/syscall.h>
#include <unistd.h>

namespace stasis::manager {

namespace fs = std::filesystem;

namespace {

// Cache dirs of lazy restores from a registry: STATE/remote/lazy-PID-RUN.
constexpr std::string_view k_cache_prefix = "lazy-";

// Removes the cache dirs a stasisd that is gone left behind (it crashed
// mid-fill: nothing of those checkpoints was stored).
void remove_stale_caches(const fs::path& dir) {
  std::error_code error;
  for (const auto& e : fs::directory_iterator(dir, error)) {
    const auto name = e.path().filename().string();
    if (!name.starts_with(k_cache_prefix)) {
      continue;
    }
    const auto pid = std::atol(name.c_str() + k_cache_prefix.size());
    if (pid <= 0 || pid == ::getpid() || (::kill(static_cast<pid_t>(pid), 0) == 0)) {
      continue;
    }
    std::error_code ignored;
    fs::remove_all(e.path(), ignored);
  }
}

} // namespace

MResult<std::string> Manager::restore_from_registry(const Caller& caller,
                                                    const std::string& job,
                                                    const std::string& checkpoint,
                                                    const RestoreOptions& options) {
  STASIS_TRY(check_remote_options(options.remote));
  auto ref = STASIS_TRY(parse_caller_reference(options.from));
  if (ref.tag.empty()) {
    return fail(ErrorCode::InvalidArgument,
                "name the checkpoint to restore with a tag: {}:JOB-latest or "
                "{}:JOB-ORIGIN-ID (stasisctl remote-checkpoints {} lists them)",
                ref.to_string(), ref.to_string(), ref.to_string());
  }
  if (!checkpoint.empty()) {
    return fail(ErrorCode::InvalidArgument,
                "a restore From a registry restores the checkpoint its tag names; "
                "leave the checkpoint empty (it was given as '{}')",
                quoted_name(checkpoint));
  }
  if (options.lazy != true) {
    return fail(ErrorCode::InvalidArgument,
                "From restores lazily only (option Lazy true); to restore all at once, "
                "Pull the checkpoint and Restore it");
  }
  if (options.terminal) {
    return fail(ErrorCode::InvalidArgument,
                "a restore From a registry cannot go onto a terminal; Pull the "
                "checkpoint and restore it with RestoreOnTerminal");
  }
  if (options.new_pid_namespace == true) {
    return fail(ErrorCode::InvalidArgument,
                "lazy restore into a new PID namespace is not supported");
  }
  auto entry = STASIS_TRY(incoming_job(caller, job));
  if (!entry.adhoc) {
    STASIS_TRY(authorized_job(caller, job, Action::Restore));
  }
  if (!m_features.lazy_pages) {
    return fail(ErrorCode::InvalidArgument, "lazy restore is unavailable here: {}",
                m_features.lazy_pages_reason);
  }
  if (policy::is_container(entry.job->target)) {
    return fail(ErrorCode::InvalidArgument,
                "lazy restore of container jobs is not supported");
  }
  RegistryRestore from{ref, client_options(options.remote), incoming_limits(caller, job)};
  RunRequest request;
  request.job = job;
  request.kind = RunKind::Restore;
  request.caller = caller.uid;
  request.work = [this, entry, options, from, uid = caller.uid](RunContext& context) {
    return run_restore(context, entry, 0, options, uid, from);
  };
  return m_queue->submit(std::move(request));
}

Result<std::unique_ptr<remote::LazyPull>>
Manager::open_registry_restore(const RegistryRestore& from, const std::string& run_id) {
  const auto dir = m_config.state_dir / "remote";
  std::error_code error;
  fs::create_directories(dir, error);
  remove_stale_caches(dir);
  const auto cache = dir / fmt::format("{}{}-{}", k_cache_prefix, ::getpid(), run_id);
  return remote::LazyPull::open(from.ref, from.client, cache);
}

void Manager::finish_registry_restore(RunContext& context, const JobEntry& entry,
                                      remote::LazyPull& pull, const RegistryRestore& from,
                                      RunOutcome& outcome) {
  auto logger = log::get("manager");
  const auto& job = *entry.job;
  outcome.remote = pull.name();
  // The tree is ours to kill only while it is the process we restored.
  util::UniqueFd tree{static_cast<int>(::syscall(SYS_pidfd_open, outcome.pid, 0))};
  // Not cancelled with the run: the tree needs every page, so the fill goes
  // on as the serving of a lazy restore does (stasisd waits for both).
  context.progress("filling from the registry", 0, 0);
  auto stored = pull.fill(m_store, job.name, from.limits);
  if (!stored) {
    if (tree) {
      ::syscall(SYS_pidfd_send_signal, tree.get(), SIGKILL, nullptr, 0);
    }
    outcome.state = RunState::Failed;
    outcome.error = fmt::format(
        "the tree of {} was restored as pid {}, but not all of its memory could come "
        "from the registry: {}; the tree was killed (its missing pages are lost) and "
        "nothing was stored",
        pull.name(), outcome.pid, stored.error().message);
    logger->error("run {}: {}", context.run_id(), outcome.error);
    return;
  }
  outcome.checkpoint = std::to_string(stored->id);
  outcome.logical_bytes = stored->logical_bytes;
  outcome.stored_bytes = pull.bytes_downloaded();
  if (entry.adhoc) {
    std::lock_guard lock(m_mutex);
    m_jobs.try_emplace(job.name, entry);
  }
  logger->info("run {}: {} restored lazily as pid {} and stored as checkpoint {} of job "
               "{} ({} bytes downloaded)",
               context.run_id(), pull.name(), outcome.pid, stored->id, job.name,
               pull.bytes_downloaded());
  emit(CheckpointsChangedEvent{job.name});
}

} // namespace stasis::manager
