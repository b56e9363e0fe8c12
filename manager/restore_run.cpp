// Restore runs: materialize a stored checkpoint, wait for its pid to be free,
// restore it with CRIU (running the job's restore hooks), clean up.
#include "engine/shell_job_session.hpp"
#include "manager/caller_terminal.hpp"
#include "manager/container_runtime.hpp"
#include "manager/criu_hints.hpp"
#include "manager/criu_mapping.hpp"
#include "manager/external_unix.hpp"
#include "manager/hook_mapping.hpp"
#include "manager/inherit_fds.hpp"
#include "manager/manager.hpp"
#include "manager/open_as.hpp"
#include "manager/pid_namespace_restore.hpp"
#include "manager/restore_rights.hpp"
#include "util/log.hpp"
#include "util/log_context.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <thread>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// How long a restore waits for the checkpointed pid to become free (this
// host's PID 1 reaps orphans late).
constexpr auto k_pid_wait = 5s;

bool pid_taken(pid_t pid) {
  std::error_code error;
  return fs::exists(fmt::format("/proc/{}", pid), error);
}

std::string command_of(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/comm", pid));
  std::string comm;
  std::getline(in, comm);
  return comm.empty() ? "?" : comm;
}

// restore.pidfile, written with the tree's rights (a user's tree: as her, so
// a link she placed on the way leads only where she may write), and never
// through a symlink at its last entry.
Result<void> write_pidfile(const std::string& path, pid_t pid,
                           const std::optional<UserIdentity>& user) {
  auto fd = STASIS_TRY(
      open_as(user, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK, 0644));
  const std::string text = fmt::format("{}\n", pid);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return make_error("cannot write {}: {}", path, std::strerror(errno));
  }
  return ok();
}

// A terminal handed for the tree, re-checked now that the restore's rights
// are known: CRIU, running as the tree's user, takes the terminal over (it
// sets its modes and owner as dumped), so the terminal must be that user's;
// only root may hand another user's terminal to a tree restored as root.
Result<void> terminal_for_tree(int fd, const RestoreRights& rights, uid_t caller) {
  const uid_t owner = STASIS_TRY(terminal_owner(fd));
  const uid_t restorer = rights.as_root ? 0 : rights.user.uid;
  if (owner == restorer || (restorer == 0 && caller == 0)) {
    return ok();
  }
  return make_error("the terminal belongs to uid {}, and the tree is restored with the "
                    "rights of {}: a shell job is restored only onto a terminal of the "
                    "user it runs as",
                    owner, rights.describe());
}

} // namespace

MResult<std::string> Manager::restore(const Caller& caller, const std::string& job,
                                      const std::string& checkpoint,
                                      const RestoreOptions& options) {
  if (!options.from.empty()) {
    return restore_from_registry(caller, job, checkpoint, options);
  }
  auto entry = STASIS_TRY(authorized_job(caller, job, Action::Restore));
  if (options.terminal) {
    if (!entry.job->criu.shell_job || policy::is_container(entry.job->target)) {
      return fail(ErrorCode::InvalidArgument,
                  "job '{}' is not a shell job (criu.shell-job): only a shell job is "
                  "restored onto the caller's terminal",
                  job);
    }
    if (auto checked = check_caller_terminal(options.terminal->get(), caller.uid);
        !checked) {
      return fail(ErrorCode::InvalidArgument, "{}", checked.error().message);
    }
  }
  if (options.lazy.value_or(entry.job->restore.lazy) && !m_features.lazy_pages) {
    return fail(ErrorCode::InvalidArgument, "lazy restore is unavailable here: {}",
                m_features.lazy_pages_reason);
  }
  if (options.tcp_close && policy::is_container(entry.job->target)) {
    return fail(ErrorCode::InvalidArgument,
                "option TcpClose is not available for job '{}': its container runtime "
                "restores it with the policy's criu.tcp-close",
                job);
  }
  if (options.tcp_close == false && entry.job->criu.tcp_close) {
    return fail(ErrorCode::InvalidArgument,
                "TcpClose false cannot restore job '{}': its checkpoints are taken with "
                "criu.tcp-close, so their connections were not saved",
                job);
  }
  auto id = STASIS_TRY(existing_checkpoint(job, checkpoint));
  STASIS_TRY(check_orphan_restorable(entry, id));
  RunRequest request;
  request.job = job;
  request.kind = RunKind::Restore;
  request.caller = caller.uid;
  request.work = [this, entry, id, options, uid = caller.uid](RunContext& context) {
    return run_restore(context, entry, id, options, uid);
  };
  return m_queue->submit(std::move(request));
}

RunOutcome Manager::run_restore(RunContext& context, const JobEntry& entry,
                                std::uint64_t checkpoint, const RestoreOptions& request,
                                uid_t caller,
                                const std::optional<RegistryRestore>& from) {
  auto logger = log::get("manager");
  const auto& job = *entry.job;
  const std::string& run_id = context.run_id();
  // Debug-level timestamps of the restore's phases (issue 13: where the time
  // until the pid goes), in ms since the run started.
  const auto run_started = std::chrono::steady_clock::now();
  auto phase = [&](std::string_view what) {
    logger->debug("run {}: restore timing: {} after {} ms", run_id, what,
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - run_started)
                      .count());
  };
  phase("run started");
  RunOutcome outcome;
  if (!from) {
    outcome.checkpoint = std::to_string(checkpoint);
    log::set_context_checkpoint(outcome.checkpoint);
  }
  HookEvent event{job.name, "", outcome.checkpoint, 0, ""};
  // The checkpoint, for messages.
  const std::string label = from ? from->ref.to_string() : std::to_string(checkpoint);
  std::error_code ignored;
  const fs::path log_dir = m_config.state_dir / "logs" / run_id;
  fs::path work;

  auto failed = [&](std::string error) {
    outcome.state = RunState::Failed;
    outcome.error = std::move(error);
    logger->error("run {}: restore of {} checkpoint {} failed: {}", run_id, job.name,
                  label, outcome.error);
    if (!work.empty()) {
      fs::remove_all(work, ignored);
    }
    run_policy_hooks(job.hooks, policy::HookPoint::OnFailure, event, run_id);
    return outcome;
  };

  context.progress("materializing", 0, 0);
  auto dir = make_work_dir(run_id);
  if (!dir) {
    return failed(dir.error().message);
  }
  work = *dir;
  const fs::path images = work / "images";
  fs::create_directories(log_dir, ignored);
  const bool lazy = request.lazy.value_or(job.restore.lazy);
  std::shared_ptr<store::LazySource> lazy_source;
  std::unique_ptr<remote::LazyPull> pull; // from a registry
  if (lazy && policy::is_container(job.target)) {
    return failed("lazy restore of container jobs is not supported");
  }
  if (from) { // the small images from the registry, the pages on demand
    auto opened = open_registry_restore(*from, run_id);
    if (!opened) {
      return failed(opened.error().message);
    }
    pull = std::move(*opened);
    lazy_source = pull->take_source();
    if (auto written = lazy_source->write_images(images); !written) {
      return failed(written.error().message);
    }
    outcome.remote = pull->name();
  } else if (lazy) { // all images but the pages, which are served from the store
    auto prepared = m_lazy.prepare(m_store, job.name, checkpoint, images);
    if (!prepared) {
      return failed(prepared.error().message);
    }
    lazy_source = *prepared;
  } else if (auto written =
                 m_store.materialize(job.name, checkpoint, images,
                                     [&context](std::uint64_t done, std::uint64_t total) {
                                       context.progress("materializing", done, total);
                                     });
             !written) {
    return failed(written.error().message);
  }
  phase(lazy ? "images but the pages materialized" : "images materialized");
  event.images_dir = images.string();
  if (request.terminal) { // engine/shell_job_session.hpp says why
    if (auto rewritten = engine::make_root_lead_its_session(images); !rewritten) {
      return failed(fmt::format("the shell job cannot be given its own session: {}",
                                rewritten.error().message));
    }
  }

  // With whose rights CRIU restores the tree (restore_rights.hpp). Containers
  // are restored by their runtime, which root's policy chose.
  RestoreRights rights;
  if (!policy::is_container(job.target)) {
    RestoreRightsRules rules;
    rules.root_allowed =
        !entry.adhoc && job.restore.run_as == policy::RestoreSettings::RunAs::Root;
    if (entry.adhoc) {
      rules.owner = adhoc_uid(job.name);
    }
    auto decided = restore_rights_for(images, rules);
    if (!decided) {
      return failed(fmt::format("checkpoint {} cannot be restored: {}", label,
                                decided.error().message));
    }
    rights = std::move(*decided);
    if (lazy && !rights.as_root) {
      // Found on CRIU 4.2.1: `criu lazy-pages` started as the user (with
      // CAP_CHECKPOINT_RESTORE and --unprivileged) exits right after its
      // kernel checks, and without those it refuses to start.
      return failed(fmt::format(
          "checkpoint {} cannot be restored lazily: its tree runs as {}, whose "
          "rights a restore uses, and CRIU's lazy-pages daemon does not run with a "
          "user's rights; restore it without Lazy (stasisctl restore without "
          "--lazy){}",
          label, rights.describe(),
          entry.adhoc
              ? ""
              : ", or let root's policy restore it as root (restore.run-as: root)"));
    }
    std::vector<fs::path> writable = {log_dir};
    if (lazy) {
      writable.push_back(work / "criu");
      fs::create_directories(work / "criu", ignored);
    }
    if (auto prepared = prepare_restore_dirs(rights, images, writable); !prepared) {
      return failed(prepared.error().message);
    }
  }
  if (request.terminal) {
    auto allowed = terminal_for_tree(request.terminal->get(), rights, caller);
    if (!allowed) {
      return failed(allowed.error().message);
    }
  }

  // The pid the checkpoint was taken of must be free again (unless the tree
  // goes into a PID namespace of its own).
  const bool new_pid_namespace =
      request.new_pid_namespace.value_or(job.restore.new_pid_namespace);
  if (lazy && new_pid_namespace) {
    return failed("lazy restore into a new PID namespace is not supported");
  }
  context.progress("waiting for pid", 0, 0);
  // (A container's init gets a fresh host pid from its runtime.)
  for (const auto& run : m_history->list(job.name)) {
    if (new_pid_namespace || policy::is_container(job.target) || from) {
      break;
    }
    if (run.kind == RunKind::Checkpoint && run.state == RunState::Succeeded &&
        run.checkpoint == outcome.checkpoint && run.pid > 0) {
      const auto deadline = std::chrono::steady_clock::now() + k_pid_wait;
      while (pid_taken(run.pid) && std::chrono::steady_clock::now() < deadline &&
             !context.stop_requested()) {
        std::this_thread::sleep_for(20ms);
      }
      if (pid_taken(run.pid)) {
        return failed(fmt::format(
            "pid {} of the checkpointed process is still taken by '{}' after {} s; stop "
            "that process first, or restore into a new PID namespace (policy key "
            "restore.pid-namespace: new, or the Restore option NewPidNamespace)",
            run.pid, command_of(run.pid), k_pid_wait.count()));
      }
      break;
    }
  }

  context.progress("restoring", 0, 0);
  phase("pid free, rights decided");
  logger->info("run {}: restoring checkpoint {} of job {} with the rights of {}", run_id,
               label, job.name, rights.describe());
  policy::RestoreSettings restore_settings = job.restore;
  if (request.tcp_close) {
    restore_settings.tcp_close = request.tcp_close;
  }
  auto options = to_restore_options(job.criu, restore_settings);
  options.images_dir = images;
  options.work_dir = log_dir;
  options.terminal_fd = request.terminal ? request.terminal->get() : -1;
  options.unprivileged = !rights.as_root;
  // restore.sibling and detached=false both make the tree a child of stasisd.
  options.restore_detached =
      request.detached.value_or(job.restore.detached) && !job.restore.sibling;
  // What stasisd opens for the tree, it opens with the tree's rights.
  const std::optional<UserIdentity> tree_user =
      rights.as_root ? std::nullopt : std::optional<UserIdentity>(rights.user);
  auto external_unix = inherit_external_unix(images, job.criu, tree_user, options);
  if (!external_unix) {
    return failed(external_unix.error().message);
  }
  auto inherited =
      open_inherit_fds(job.restore.inherit_fds, tree_user, options.inherit_fds);
  if (!inherited) {
    return failed(inherited.error().message);
  }
  engine::NotifyHandler notify;
  if (!job.hooks.empty()) {
    notify = hooks_notify_handler(job.hooks, event, run_id);
  }
  const engine::RunControl control{job.criu.timeout, context.stop_token()};
  if (policy::is_container(job.target)) {
    auto pid = restore_container(job, ContainerRun{m_criu, images, log_dir, control},
                                 options.restore_detached);
    if (!pid) {
      return failed(pid.error().message);
    }
    outcome.pid = *pid;
  } else {
    auto restored = [&]() -> Result<engine::RestoreResult, engine::EngineError> {
      if (lazy) {
        return m_lazy.restore(m_criu, rights, lazy_source, work, options, notify,
                              control);
      }
      if (!new_pid_namespace) {
        return engine::CriuClient(m_criu, restore_workers(m_criu, rights))
            .restore(options, notify, control);
      }
      auto in_namespace =
          restore_in_new_pid_namespace(m_criu, rights, options, notify, control);
      if (!in_namespace) {
        return Unexpected(std::move(in_namespace).error());
      }
      return std::move(in_namespace->result);
    }();
    if (!restored) {
      auto message = run_error_message(restored.error(), job.name,
                                       hint_settings(job.criu, job.restore));
      if (!rights.as_root) {
        message += fmt::format(" (CRIU ran with the rights of {}, whose tree this is)",
                               rights.describe());
      }
      return failed(std::move(message));
    }
    outcome.pid = restored->pid;
    phase("criu restore returned the pid");
    if (!options.restore_detached && !new_pid_namespace) {
      m_children.adopt(outcome.pid,
                       fmt::format("tree of job {} (checkpoint {})", job.name, label));
    }
  }
  context.record_pid(outcome.pid); // before the rest: a crash now leaves it known
  event.pid = outcome.pid;
  if (pull) {
    finish_registry_restore(context, entry, *pull, *from, outcome);
    pull.reset();
    if (outcome.state != RunState::Succeeded) {
      fs::remove_all(log_dir, ignored);
      run_policy_hooks(job.hooks, policy::HookPoint::OnFailure, event, run_id);
      return outcome;
    }
    event.checkpoint = outcome.checkpoint;
  }
  if (!job.restore.pidfile.empty()) {
    if (auto written = write_pidfile(job.restore.pidfile, outcome.pid, tree_user);
        !written) {
      logger->warn("run {}: restore.pidfile: {}", run_id, written.error().message);
    }
  }
  if (!lazy) { // a lazy restore's work dir is removed once all pages are in
    fs::remove_all(work, ignored);
  }
  fs::remove_all(log_dir, ignored);
  work.clear();
  logger->info("run {}: checkpoint {} of job {} restored as pid {}", run_id, checkpoint,
               job.name, outcome.pid);
  run_policy_hooks(job.hooks, policy::HookPoint::OnSuccess, event, run_id);
  context.progress("done", 0, 0);
  phase("run done");
  return outcome;
}

} // namespace stasis::manager
