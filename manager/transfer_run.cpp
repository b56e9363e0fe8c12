// The store commands callers reach through stasisd: disk usage, Export and
// Import runs that stream a checkpoint to or from a descriptor the caller
// opened with her own rights (stasisd never opens a caller's path), and
// root's Fsck and CollectGarbage.
//
// The store's lock is never held while a caller's descriptor is read or
// written: a writer that stops sending (or a reader that stops reading)
// would stop every checkpoint of the host. An export is written into a file
// of stasisd's first and copied to the caller after; an import is copied
// from the caller into such a file first, then imported. Each copy waits at
// most k_export_stall_timeout for progress and k_transfer_deadline in all.
#include "manager/adhoc.hpp"
#include "manager/manager.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

namespace stasis::manager {

namespace {

// Checks a caller's descriptor: a regular file or a pipe (or socket), open
// for `writing` or reading. A pipe or socket is made non-blocking (see
// copy_patiently).
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
  if (!S_ISREG(st.st_mode) && (flags & O_NONBLOCK) == 0 &&
      ::fcntl(file.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return fail(ErrorCode::InvalidArgument, "the file descriptor cannot be used");
  }
  return {};
}

// How long a whole export or import may take to pass the caller's descriptor.
constexpr std::chrono::minutes k_transfer_deadline{30};

// Waits until fd is ready for `events`, at most until `until` and in slices
// of a second (stop() is asked between them); false when it is not.
bool wait_ready(int fd, short events, std::chrono::steady_clock::time_point until,
                const std::function<bool()>& stop) {
  while (!stop()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd wait{fd, events, 0};
    const long long slice = std::min<long long>(left.count(), 1000);
    if (::poll(&wait, 1, static_cast<int>(slice)) > 0) {
      return true;
    }
  }
  return false;
}

// Copies from `from` to `to` until the end of `from` (one of them is the
// caller's descriptor, non-blocking unless a regular file): each step waits
// at most k_export_stall_timeout for progress, the whole copy at most
// k_transfer_deadline and at most max_bytes; stop() ends it. `what` names the
// caller's side in errors; copied (if set) is told the bytes copied so far.
Result<void> copy_patiently(int from, int to, std::uint64_t max_bytes,
                            const std::function<bool()>& stop, const std::string& what,
                            const std::function<void(std::uint64_t)>& copied = {}) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + k_transfer_deadline;
  std::vector<char> buffer(1 << 20);
  std::uint64_t total = 0;
  auto step_until = [&] {
    return std::min(deadline, Clock::now() + k_export_stall_timeout);
  };
  auto gave_up = [&]() -> Result<void> {
    if (stop()) {
      return make_error("the run was cancelled");
    }
    return make_error("{} made no progress for {} s (or took more than {} min in all)",
                      what, k_export_stall_timeout.count(), k_transfer_deadline.count());
  };
  while (true) {
    if (stop()) {
      return make_error("the run was cancelled");
    }
    const ssize_t n = ::read(from, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      if (!wait_ready(from, POLLIN, step_until(), stop)) {
        return gave_up();
      }
      continue;
    }
    if (n < 0) {
      return make_error("cannot read {}: {}", what, std::strerror(errno));
    }
    if (n == 0) {
      return ok();
    }
    total += static_cast<std::uint64_t>(n);
    if (total > max_bytes) {
      return make_error("{} is larger than {} bytes", what, max_bytes);
    }
    for (ssize_t done = 0; done < n;) {
      const ssize_t w =
          ::write(to, buffer.data() + done, static_cast<std::size_t>(n - done));
      if (w > 0) {
        done += w;
      } else if (w < 0 && errno == EAGAIN) {
        if (!wait_ready(to, POLLOUT, step_until(), stop)) {
          return gave_up();
        }
      } else if (!(w < 0 && errno == EINTR)) {
        return make_error("cannot write {}: {}", what, std::strerror(errno));
      }
    }
    if (copied) {
      copied(total);
    }
  }
}

// The size of a regular file open at fd; 0 (unknown) for anything else.
std::uint64_t regular_file_size(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0
             ? static_cast<std::uint64_t>(st.st_size)
             : 0;
}

// An unnamed file of stasisd's in dir (gone when closed).
Result<util::UniqueFd> private_file(const std::filesystem::path& dir) {
  util::UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!fd) {
    return make_error("cannot make a file in {}: {}", dir.string(), std::strerror(errno));
  }
  return fd;
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
    context.progress("writing the export", 0, 0);
    auto written = [&]() -> Result<void> {
      const auto work = STASIS_TRY(make_work_dir(context.run_id()));
      auto spool = private_file(work);
      std::error_code ignored;
      std::filesystem::remove_all(work, ignored); // the open file stays
      if (!spool) {
        return Unexpected(spool.error());
      }
      STASIS_TRY(m_store.export_checkpoint(job, id, spool->get(),
                                           fmt::format("the export of {}/{}", job, id),
                                           std::chrono::milliseconds(0)));
      if (::lseek(spool->get(), 0, SEEK_SET) != 0) {
        return make_error("cannot read back the export: {}", std::strerror(errno));
      }
      const std::uint64_t size = regular_file_size(spool->get());
      context.progress("exporting", 0, size);
      return copy_patiently(
          spool->get(), file->get(), UINT64_MAX, [&] { return context.stop_requested(); },
          "the caller's export file",
          [&](std::uint64_t done) { context.progress("exporting", done, size); });
    }();
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
    context.progress("done", 0, 0);
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
    const std::uint64_t size = regular_file_size(file->get()); // 0: a pipe
    context.progress("importing", 0, size);
    const auto& name = entry.job->name;
    // The quota's room when the import runs: queued runs must not each see
    // the same room.
    const auto limits = incoming_limits(caller, name);
    auto imported = [&]() -> Result<store::CheckpointSummary> {
      const auto work = STASIS_TRY(make_work_dir(context.run_id()));
      auto spool = private_file(work);
      std::error_code ignored;
      std::filesystem::remove_all(work, ignored); // the open file stays
      if (!spool) {
        return Unexpected(spool.error());
      }
      // A user's file may be a few times her quota (blobs the store has
      // already cost her nothing); root's is bounded by the disk.
      const std::uint64_t quota =
          caller.is_root() ? 0 : m_config.max_stored_bytes_per_user;
      const std::uint64_t most = quota == 0 ? UINT64_MAX : 4 * quota + (64ULL << 20);
      STASIS_TRY(copy_patiently(
          file->get(), spool->get(), most, [&] { return context.stop_requested(); },
          "the imported file",
          [&](std::uint64_t done) { context.progress("importing", done, size); }));
      if (::lseek(spool->get(), 0, SEEK_SET) != 0) {
        return make_error("cannot read back the imported file: {}", std::strerror(errno));
      }
      context.progress("storing", 0, 0);
      return m_store.import_checkpoint(spool->get(), "the imported file", name, limits);
    }();
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
    context.progress("done", 0, 0);
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
