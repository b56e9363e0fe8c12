// Checkpoint runs: resolve the target, dump it with CRIU (running the job's
// hooks at CRIU's notifications), store the images, apply retention.
#include "engine/target.hpp"
#include "manager/container_runtime.hpp"
#include "manager/criu_hints.hpp"
#include "manager/criu_mapping.hpp"
#include "manager/dump_progress.hpp"
#include "manager/dump_worker.hpp"
#include "manager/external_unix.hpp"
#include "manager/hook_mapping.hpp"
#include "manager/manager.hpp"
#include "manager/ownership.hpp"
#include "manager/target_resolver.hpp"
#include "manager/unprivileged_worker.hpp"
#include "store/page_server_stream.hpp"
#include "store/pagemap.hpp"
#include "store/run_dirs.hpp"
#include "util/log.hpp"
#include "util/log_context.hpp"
#include "util/unique_fd.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <fmt/ranges.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;

store::DumpStats to_store(const engine::DumpStats& stats) {
  store::DumpStats out;
  out.frozen_usec = static_cast<std::uint64_t>(stats.frozen_time.count());
  out.memdump_usec = static_cast<std::uint64_t>(stats.memdump_time.count());
  out.memwrite_usec = static_cast<std::uint64_t>(stats.memwrite_time.count());
  out.pages_scanned = stats.pages_scanned;
  out.pages_written = stats.pages_written;
  return out;
}

// A streaming checkpoint in flight: CRIU writes the pages into one end of a
// socket pair, a thread of ours reads them from the other into the store.
class PageStream {
public:
  static Result<std::unique_ptr<PageStream>> start(const store::Store& store,
                                                   const std::string& job) {
    auto checkpoint = STASIS_TRY(store::StreamingCheckpoint::begin(store, job));
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return make_error("cannot create the page stream's socket pair: {}",
                        std::strerror(errno));
    }
    std::unique_ptr<PageStream> stream(new PageStream(std::move(checkpoint)));
    stream->m_ours.reset(fds[0]);
    stream->m_criu_end.reset(fds[1]);
    stream->m_receiver = std::jthread([s = stream.get()](std::stop_token stop) {
      s->m_received = s->m_checkpoint->receive(s->m_ours.get(), stop);
    });
    return stream;
  }

  // The end CRIU's worker inherits.
  int criu_end() const { return m_criu_end.get(); }

  // After the dump: waits until every page is in (or CRIU's end is closed).
  Result<void> finish() {
    m_criu_end.reset();
    if (m_receiver.joinable()) {
      m_receiver.join();
    }
    return m_received;
  }

  store::StreamingCheckpoint& checkpoint() { return *m_checkpoint; }

  ~PageStream() {
    m_criu_end.reset();
    if (m_receiver.joinable()) {
      m_receiver.request_stop();
      m_receiver.join();
    }
  }

private:
  explicit PageStream(std::unique_ptr<store::StreamingCheckpoint> checkpoint)
      : m_checkpoint(std::move(checkpoint)) {}

  std::unique_ptr<store::StreamingCheckpoint> m_checkpoint;
  util::UniqueFd m_ours;
  util::UniqueFd m_criu_end;
  Result<void> m_received = ok();
  std::jthread m_receiver;
};

// Sends sig to a tree's root and every descendant (the tree is stopped, so
// it does not fork meanwhile).
void signal_tree(pid_t root, int sig) {
  auto pids = engine::descendants_of(root);
  pids.insert(pids.begin(), root);
  for (pid_t pid : pids) {
    ::kill(pid, sig);
  }
}

// Wraps a dump's notification handler: at post-dump, while CRIU holds the
// tree frozen and every image is written, the dumped tree must still be the
// pinned process, and (for a user) every task the images record hers;
// otherwise the notification fails, CRIU rolls back and the tree runs on.
engine::NotifyHandler check_at_post_dump(engine::NotifyHandler inner,
                                         PinnedProcess process, fs::path images,
                                         std::optional<uid_t> user) {
  return [inner = std::move(inner), process = std::move(process),
          images = std::move(images), user](const engine::NotifyEvent& event) {
    if (event.script == "post-dump") {
      if (auto same = process.check_same(); !same) {
        return engine::NotifyAnswer::fail(same.error().message);
      }
      if (user) {
        util::UniqueFd dir(::open(images.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        auto tree =
            dir ? engine::read_tree_creds(dir.get())
                : Result<engine::TreeCreds>(make_error(
                      "cannot open {}: {}", images.string(), std::strerror(errno)));
        if (!tree) {
          return engine::NotifyAnswer::fail(fmt::format(
              "cannot read what the dump captured: {}", tree.error().message));
        }
        if (auto owned = check_tree_owned_by(*tree, *user); !owned) {
          return engine::NotifyAnswer::fail(
              fmt::format("the dump captured a process that is not the caller's: {}",
                          owned.error().message));
        }
      }
    }
    return inner ? inner(event) : engine::NotifyAnswer::ok();
  };
}

} // namespace

MResult<std::string> Manager::checkpoint(const Caller& caller, const std::string& job,
                                         const CheckpointOptions& options) {
  auto entry = STASIS_TRY(authorized_job(caller, job, Action::Checkpoint));
  if (!entry.adhoc && (options.shell_job || options.file_locks ||
                       options.tcp_established || options.ext_unix_sk)) {
    return fail(ErrorCode::InvalidArgument,
                "ShellJob, FileLocks, TcpEstablished and ExtUnixSk apply to "
                "CheckpointProcess only; job '{}' takes them from its policy",
                job);
  }
  return submit_checkpoint(entry, options, std::nullopt, false, caller.uid);
}

MResult<std::string> Manager::submit_checkpoint(const JobEntry& entry,
                                                const CheckpointOptions& options,
                                                std::optional<AdhocTarget> adhoc,
                                                bool scheduled, uid_t caller) {
  RunRequest request;
  request.job = entry.job->name;
  request.kind = RunKind::Checkpoint;
  request.scheduled = scheduled;
  request.caller = caller;
  request.work = [this, entry, options, adhoc, scheduled](RunContext& context) {
    auto outcome = run_checkpoint(context, entry, options, adhoc);
    if (outcome.state == RunState::Succeeded && !outcome.checkpoint.empty()) {
      // After the local commit, never while the target is frozen.
      replicate_after_checkpoint(entry, std::stoull(outcome.checkpoint), scheduled);
    }
    return outcome;
  };
  return m_queue->submit(std::move(request));
}

RunOutcome Manager::run_checkpoint(RunContext& context, const JobEntry& entry,
                                   const CheckpointOptions& request,
                                   const std::optional<AdhocTarget>& adhoc) {
  auto logger = log::get("manager");
  const auto& job = *entry.job;
  const std::string& run_id = context.run_id();
  HookEvent event{job.name, "", "", 0, ""};
  RunOutcome outcome;
  std::error_code ignored;
  const fs::path log_dir = m_config.state_dir / "logs" / run_id;
  fs::path images;

  auto failed = [&](std::string error) {
    outcome.state = RunState::Failed;
    outcome.error = std::move(error);
    logger->error("run {}: checkpoint of {} failed: {}", run_id, job.name, outcome.error);
    if (!images.empty()) { // written by the target's owner: never follow a link
      (void)store::remove_tree(images.parent_path());
    }
    run_policy_hooks(job.hooks, policy::HookPoint::OnFailure, event, run_id);
    return outcome;
  };

  context.progress("resolving", 0, 0);
  pid_t pid = 0;
  // A user's own process: the dump runs as her, on the process of her request.
  const bool for_user = adhoc && adhoc->caller != 0;
  gid_t user_gid = 0;
  if (adhoc) {
    pid = adhoc->process.pid();
    if (auto same = adhoc->process.check_same(); !same) {
      return failed(same.error().message);
    }
    if (for_user) {
      auto tree = live_tree_creds(pid);
      if (!tree) {
        return failed(tree.error().message);
      }
      if (auto owned = check_tree_owned_by(*tree, adhoc->caller); !owned) {
        return failed(owned.error().message);
      }
      user_gid = tree->tasks.front().gid;
    }
  } else {
    auto resolved = resolve_target(job.target, m_processes);
    if (!resolved) {
      return failed(resolved.error().message);
    }
    pid = *resolved;
  }
  outcome.pid = pid;
  event.pid = pid;
  const bool stream = request.stream.value_or(job.criu.stream_pages);
  if (stream && policy::is_container(job.target)) {
    return failed("streaming checkpoints (Stream, criu.stream-pages) of container jobs "
                  "are not supported: the container runtime runs CRIU");
  }
  if (!policy::is_container(job.target) && job.criu.page_server) {
    return failed("criu.page-server sends the pages to another host's `criu "
                  "page-server` (migration), which stasisd does not run; "
                  "criu.stream-pages streams them into the store");
  }
  struct stat owner {};
  if (::stat(fmt::format("/proc/{}", pid).c_str(), &owner) != 0) {
    return failed(fmt::format("process {} is gone", pid));
  }
  // Whose rights CRIU dumps with (manager/dump_worker.hpp). A user's own
  // process: hers, with only CAP_CHECKPOINT_RESTORE, so the kernel's ptrace
  // rules decide what CRIU may seize. Root's policy job of a user's process:
  // criu.dump-as (root, or that user's with CAP_SYS_PTRACE too). Containers:
  // their runtime's, as root.
  const bool root_other_uids = root_dumps_other_uids();
  const DumpWorker worker = choose_dump_worker(
      job.criu.dump_as,
      DumpWorkerFacts{adhoc.has_value(), adhoc ? adhoc->caller : 0, owner.st_uid,
                      policy::is_container(job.target), root_other_uids});
  std::optional<UserIdentity> worker_user;
  WorkerCapabilities worker_caps;
  if (worker == DumpWorker::Caller) {
    worker_user = identity_of(adhoc->caller, user_gid);
    worker_user->gid = user_gid;
    worker_caps = user_dump_worker_caps();
  } else if (worker == DumpWorker::TargetUser) {
    worker_user = identity_of(owner.st_uid, owner.st_gid);
    worker_caps = policy_dump_worker_caps();
  }
  // Root CRIU of another uid's process without CAP_SYS_RESOURCE fails on
  // its prlimit(): say which setting helps along with CRIU's error.
  const std::string root_hint =
      worker == DumpWorker::Root && owner.st_uid != 0 && !root_other_uids
          ? fmt::format("; CRIU ran as root (criu.dump-as: root) and stasisd lacks "
                        "CAP_SYS_RESOURCE, which root CRIU needs to dump a process of "
                        "uid {}: use criu.dump-as: auto or target-user, or give stasisd "
                        "CAP_SYS_RESOURCE",
                        owner.st_uid)
          : std::string();
  const bool unprivileged = worker_user.has_value();
  auto work = make_work_dir(run_id);
  if (!work) {
    return failed(work.error().message);
  }
  images = *work / "images";
  fs::create_directories(images, ignored);
  fs::create_directories(log_dir, ignored);
  // Opened before CRIU (perhaps a user's) may write in it: the dump's
  // progress is measured in this dir of stasisd's, whatever the work dir
  // holds later.
  const util::UniqueFd images_fd(
      ::open(images.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!images_fd) {
    return failed(
        fmt::format("cannot open {}: {}", images.string(), std::strerror(errno)));
  }
  if (unprivileged) {
    for (const auto& dir : {*work, images, log_dir}) {
      if (::chown(dir.c_str(), worker_user->uid, worker_user->gid) != 0) {
        return failed(fmt::format("cannot hand {} to uid {}: {}", dir.string(),
                                  worker_user->uid, std::strerror(errno)));
      }
    }
  }
  event.images_dir = images.string();

  auto options = to_dump_options(job.criu);
  options.pid = pid;
  options.images_dir = images;
  options.work_dir = log_dir;
  options.leave_running = request.leave_running.value_or(job.criu.leave_running);
  if (options.leave_running) {
    options.leave_stopped = false;
  }
  options.unprivileged = unprivileged;
  // A streamed checkpoint is stored only after CRIU is done. Rather than let
  // CRIU kill the tree then, it is left stopped and killed once the
  // checkpoint is committed: if storing fails (or stasisd dies), the tree
  // still exists and is resumed (or can be, with SIGCONT). So is the tree of
  // a checkpoint under a user's quota, which may refuse it before storing.
  const bool kill_after_store = (stream || under_quota(entry)) &&
                                !policy::is_container(job.target) &&
                                !options.leave_running && !options.leave_stopped;
  if (kill_after_store) {
    options.leave_stopped = true;
  }
  if (auto declared = declare_external_unix(pid, job.criu, images, options); !declared) {
    return failed(declared.error().message);
  }
  engine::NotifyHandler notify;
  if (!job.hooks.empty()) {
    notify = hooks_notify_handler(job.hooks, event, run_id);
  }
  if (adhoc) {
    notify =
        check_at_post_dump(std::move(notify), adhoc->process, images,
                           for_user ? std::optional<uid_t>(adhoc->caller) : std::nullopt);
  }
  const engine::RunControl control{job.criu.timeout, context.stop_token()};
  logger->info("run {}: dumping {} (pid {}{}) of job {}", run_id,
               adhoc ? "process" : policy::describe(job.target), pid,
               unprivileged ? fmt::format(", as uid {}", worker_user->uid) : "",
               job.name);
  std::unique_ptr<PageStream> page_stream;
  if (stream) {
    auto started = PageStream::start(m_store, job.name);
    if (!started) {
      return failed(
          fmt::format("cannot stream into the store: {}", started.error().message));
    }
    page_stream = std::move(*started);
    options.page_server = engine::PageServerTarget{"", 0, page_stream->criu_end()};
  }
  // Bytes of pages written (or streamed) of the tree's resident memory.
  DumpProgress dump_progress(
      [&]() -> std::uint64_t {
        return page_stream
                   ? page_stream->checkpoint().pages_received() * store::k_page_size
                   : pages_bytes_in(images_fd.get());
      },
      expected_dump_bytes(pid),
      [&context](std::uint64_t done, std::uint64_t total) {
        context.progress("dumping", done, total);
      });
  engine::DumpStats stats;
  if (policy::is_container(job.target)) {
    auto dumped = checkpoint_container(
        job, ContainerRun{m_criu, images, log_dir, control}, options.leave_running);
    if (!dumped) {
      return failed(dumped.error().message);
    }
    stats = *dumped;
  } else {
    auto client =
        unprivileged
            ? engine::CriuClient(m_criu,
                                 unprivileged_workers(m_criu, *worker_user, worker_caps))
            : engine::CriuClient(m_criu);
    auto dumped = client.dump(options, notify, control);
    auto streamed = page_stream ? page_stream->finish() : ok();
    if (!dumped && page_stream && !page_stream->checkpoint().failure().empty()) {
      // The store stopped taking pages (a full disk) and cut CRIU off.
      return failed(fmt::format("storing the streamed pages failed: {}; CRIU stopped: {}",
                                page_stream->checkpoint().failure(),
                                run_error_message(dumped.error(), job.name,
                                                  hint_settings(job.criu, job.restore))));
    }
    if (!dumped) {
      return failed(run_error_message(dumped.error(), job.name,
                                      hint_settings(job.criu, job.restore)) +
                    root_hint);
    }
    if (!streamed) {
      if (kill_after_store) {
        signal_tree(pid, SIGCONT);
      }
      return failed(fmt::format("receiving the streamed pages failed: {}{}",
                                streamed.error().message,
                                kill_after_store ? "; the tree runs on" : ""));
    }
    stats = dumped->stats;
  }
  dump_progress.finish();
  outcome.frozen_usec = static_cast<std::uint64_t>(stats.frozen_time.count());
  if (auto allowed = check_user_quota(entry, images); !allowed) {
    if (kill_after_store) {
      signal_tree(pid, SIGCONT);
    }
    return failed(allowed.error().message);
  }

  context.progress("storing", 0, 0);
  store::IngestInfo info;
  info.policy_fingerprint = job.fingerprint;
  info.criu_version = m_host.criu_version;
  info.kernel = m_host.kernel;
  info.cpu = m_host.cpu;
  info.target = adhoc ? fmt::format("pid {}", pid)
                      : fmt::format("{} (pid {})", policy::describe(job.target), pid);
  info.stats = to_store(stats);
  if (!page_stream) { // a stream's pages are in; its commit stores the rest
    info.progress = [&context](std::uint64_t done, std::uint64_t total) {
      context.progress("storing", done, total);
    };
  }
  auto summary = page_stream ? page_stream->checkpoint().commit(images, info)
                             : m_store.ingest(job.name, images, info);
  page_stream.reset(); // releases the store's write lock (retention takes it next)
  if (kill_after_store) {
    signal_tree(pid, summary ? SIGKILL : SIGCONT);
  }
  if (!summary) {
    return failed(fmt::format("storing the checkpoint failed: {}{}",
                              summary.error().message,
                              kill_after_store ? "; the tree runs on" : ""));
  }
  (void)store::remove_tree(*work);
  (void)store::remove_tree(log_dir);
  images.clear();
  if (stream) { // the pages were stored as they came
    context.progress("storing", summary->logical_bytes, summary->logical_bytes);
  }
  outcome.checkpoint = std::to_string(summary->id);
  log::set_context_checkpoint(outcome.checkpoint);
  outcome.logical_bytes = summary->logical_bytes;
  outcome.stored_bytes = summary->stored_bytes;
  event.checkpoint = outcome.checkpoint;
  event.images_dir.clear();
  logger->info("run {}: checkpoint {} of job {} stored: {} bytes, {} new, frozen {} ms",
               run_id, summary->id, job.name, summary->logical_bytes,
               summary->stored_bytes, outcome.frozen_usec / 1000);
  emit(CheckpointsChangedEvent{job.name});

  context.progress("pruning", 0, 0);
  apply_retention(entry, run_id);
  run_policy_hooks(job.hooks, policy::HookPoint::OnSuccess, event, run_id);
  context.progress("done", 0, 0);
  return outcome;
}

void Manager::apply_retention(const JobEntry& entry, const std::string& run_id) {
  auto logger = log::get("manager");
  const auto& job = *entry.job;
  if (job.retention.empty()) {
    return;
  }
  auto report = m_store.prune(job.name, job.retention, false);
  if (!report) {
    logger->error("run {}: retention of job {} failed: {}", run_id, job.name,
                  report.error().message);
    return;
  }
  for (const auto& decision : report->decisions) {
    logger->debug("run {}: retention: checkpoint {} {} ({})", run_id, decision.id,
                  decision.keep ? "kept" : "deleted", fmt::join(decision.reasons, ", "));
  }
  if (!report->deleted.empty()) {
    logger->info("run {}: retention ({}) deleted checkpoint(s) {} of job {}", run_id,
                 policy::describe(job.retention), fmt::join(report->deleted, ", "),
                 job.name);
    emit(CheckpointsChangedEvent{job.name});
  }
  prune_former_names(job, false);
}

} // namespace stasis::manager
