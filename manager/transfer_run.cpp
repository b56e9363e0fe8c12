// The store commands callers reach through stasisd: disk usage, Export and
// Import runs that stream a checkpoint to or from a descriptor the caller
// opened with her own rights (stasisd never opens a caller's path), and
// root's Fsck and CollectGarbage.
#include "manager/adhoc.hpp"
#include "manager/manager.hpp"
#include "util/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <fmt/format.h>

namespace stasis::manager {

namespace {

// Checks a caller's descriptor: a regular file or a pipe (or socket), open
// for `writing` or reading. A write end is made non-blocking, so that a
// reader that stops only stalls its own export (k_export_stall_timeout).
MResult<void> check_caller_file(const util::UniqueFd& file, bool writing) {
  struct stat st {};
  if (!file || ::fstat(file.get(), &st) != 0) {
    return fail(ErrorCode::InvalidArgument, "the file descriptor cannot be used");
  }
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)) {
    return fail(ErrorCode::InvalidArgument,
                "the file descriptor is neither a regular file nor a pipe");
  }
  const int flags = ::fcntl(file.get(), F_GETFL);
  const int mode = flags & O_ACCMODE;
  if (flags < 0 || (writing ? mode == O_RDONLY : mode == O_WRONLY)) {
    return fail(ErrorCode::InvalidArgument, "the file descriptor is not open for {}",
                writing ? "writing" : "reading");
  }
  if (writing && !S_ISREG(st.st_mode) && (flags & O_NONBLOCK) == 0 &&
      ::fcntl(file.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return fail(ErrorCode::InvalidArgument, "the file descriptor cannot be used");
  }
  return {};
}

} // namespace

MResult<DiskUsage> Manager::disk_usage(const Caller& caller) {
  auto usage = m_store.usage();
  if (!usage) {
    return fail(ErrorCode::StoreFailed, "{}", usage.error().message);
  }
  DiskUsage result;
  for (const auto& job : usage->jobs) {
    // Checkpoints of removed jobs are root's to see.
    if (caller.is_root() || may_list(caller, job.job)) {
      result.jobs.push_back(
          JobDiskUsage{job.job, job.checkpoints, job.logical_bytes, job.stored_bytes});
    }
  }
  if (caller.is_root()) {
    result.whole_store = true;
    result.logical_bytes = usage->logical_bytes;
    result.referenced_bytes = usage->referenced_bytes;
    result.pack_bytes = usage->pack_bytes;
    result.manifest_bytes = usage->manifest_bytes;
  }
  return result;
}

MResult<std::string>
Manager::export_checkpoint(const Caller& caller, const std::string& job,
                           const std::string& checkpoint,
                           std::shared_ptr<const util::UniqueFd> file) {
  // The images hold the tree's memory: the job's export right, not restore.
  auto entry = STASIS_TRY(authorized_job(caller, job, Action::Export));
  const auto id = STASIS_TRY(existing_checkpoint(job, checkpoint));
  STASIS_TRY(check_caller_file(*file, true));
  RunRequest request;
  request.job = job;
  request.kind = RunKind::Export;
  request.caller = caller.uid;
  request.work = [this, job, id, file](RunContext& context) {
    RunOutcome outcome;
    outcome.checkpoint = std::to_string(id);
    context.progress("exporting", 0, 1);
    auto written = m_store.export_checkpoint(job, id, file->get(),
                                             fmt::format("the export of {}/{}", job, id),
                                             k_export_stall_timeout);
    if (!written) {
      outcome.state = RunState::Failed;
      outcome.error = written.error().message;
      log::get("manager")->error("run {}: export of {} {} failed: {}", context.run_id(),
                                 job, id, outcome.error);
      return outcome;
    }
    if (auto summary = m_store.summary(job, id)) {
      outcome.logical_bytes = summary->logical_bytes;
    }
    log::get("manager")->info("run {}: exported {} {}", context.run_id(), job, id);
    context.progress("done", 1, 1);
    return outcome;
  };
  return m_queue->submit(std::move(request));
}

MResult<std::string>
Manager::import_checkpoint(const Caller& caller,
                           std::shared_ptr<const util::UniqueFd> file,
                           const std::string& job) {
  auto entry = STASIS_TRY(incoming_job(caller, job));
  STASIS_TRY(check_caller_file(*file, false));
  RunRequest request;
  request.job = job;
  request.kind = RunKind::Import;
  request.caller = caller.uid;
  request.work = [this, entry, file, caller](RunContext& context) {
    RunOutcome outcome;
    context.progress("importing", 0, 1);
    const auto& name = entry.job->name;
    // The quota's room when the import runs: queued runs must not each see
    // the same room.
    const auto limits = incoming_limits(caller, name);
    auto imported =
        m_store.import_checkpoint(file->get(), "the imported file", name, limits);
    if (!imported) {
      outcome.state = RunState::Failed;
      outcome.error = imported.error().message;
      log::get("manager")->error("run {}: import into {} failed: {}", context.run_id(),
                                 name, outcome.error);
      return outcome;
    }
    outcome.checkpoint = std::to_string(imported->id);
    outcome.logical_bytes = imported->logical_bytes;
    outcome.stored_bytes = imported->stored_bytes;
    if (entry.adhoc) {
      {
        std::lock_guard lock(m_mutex);
        m_jobs.try_emplace(name, entry);
      }
      // A user's job keeps at most max-checkpoints-per-user, imports too.
      apply_retention(entry, context.run_id());
    }
    log::get("manager")->info("run {}: imported a checkpoint into {} as {}",
                              context.run_id(), name, imported->id);
    emit(CheckpointsChangedEvent{name});
    context.progress("done", 1, 1);
    return outcome;
  };
  return submit_incoming(std::move(request), entry);
}

MResult<FsckInfo> Manager::fsck(const Caller& caller, bool verify_data) {
  if (!caller.is_root()) {
    return fail(ErrorCode::AccessDenied, "only root may check the whole store");
  }
  auto report = m_store.fsck(verify_data);
  if (!report) {
    return fail(ErrorCode::StoreFailed, "{}", report.error().message);
  }
  FsckInfo info;
  info.ok = report->ok();
  info.packs = report->packs;
  info.blobs = report->blobs;
  info.checkpoints = report->checkpoints;
  info.temp_files_removed = report->temp_files_removed;
  info.orphan_packs_removed = report->orphan_packs_removed;
  info.problems = report->problems;
  for (const auto& damaged : report->damaged) {
    for (const auto& problem : damaged.problems) {
      info.problems.push_back(fmt::format("checkpoint {}/{} is damaged: {}", damaged.job,
                                          damaged.id, problem));
    }
  }
  return info;
}

MResult<GcInfo> Manager::collect_garbage(const Caller& caller) {
  if (!caller.is_root()) {
    return fail(ErrorCode::AccessDenied, "only root may collect the store's garbage");
  }
  auto report = m_store.gc();
  if (!report) {
    return fail(ErrorCode::StoreFailed, "{}", report.error().message);
  }
  return GcInfo{report->packs_deleted, report->packs_repacked, report->bytes_freed};
}

} // namespace stasis::manager
