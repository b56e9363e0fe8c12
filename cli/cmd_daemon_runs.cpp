// Daemon commands that start runs: checkpoint, restore, cancel. They wait for
// the run's RunFinished signal (a progress bar on a terminal) unless --no-wait.
#include "cli/daemon_client.hpp"
#include "cli/remote_access.hpp"
#include "cli/run_wait.hpp"
#include "util/unique_fd.hpp"

#include <chrono>
#include <fcntl.h>
#include <iostream>
#include <map>
#include <memory>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::cli {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct CheckpointArgs {
  std::string job;
  pid_t pid = 0;
  bool leave_running = false;
  bool stop = false;
  bool stream = false;
  bool shell_job = false;
  bool file_locks = false;
  bool tcp_established = false;
  bool ext_unix_sk = false;
  WaitArgs wait;
};

// Whether the checkpoint left its target running: the request's choice, else
// the job's criu.leave-running (an ad-hoc checkpoint's default is to leave it).
bool left_running(dbus::Client& client, const CheckpointArgs& args,
                  const manager::CheckpointOptions& request) {
  if (request.leave_running) {
    return *request.leave_running;
  }
  if (args.pid != 0) {
    return true;
  }
  auto job = client.get_job(args.job);
  return !job || job->leave_running; // unknown: say nothing rather than wrong
}

void checkpoint(const CheckpointArgs& args, GlobalOptions& options) {
  if (args.job.empty() == (args.pid == 0)) {
    std::cerr << "stasisctl: checkpoint needs a JOB or --pid PID (not both)\n";
    options.exit_code = k_exit_usage;
    return;
  }
  manager::CheckpointOptions request;
  if (args.leave_running || args.stop) {
    request.leave_running = args.leave_running;
  }
  if (args.stream) {
    request.stream = true;
  }
  if (args.pid != 0) {
    request.shell_job = args.shell_job ? std::optional(true) : std::nullopt;
    request.file_locks = args.file_locks ? std::optional(true) : std::nullopt;
    request.tcp_established = args.tcp_established ? std::optional(true) : std::nullopt;
    request.ext_unix_sk = args.ext_unix_sk ? std::optional(true) : std::nullopt;
  }
  run_and_wait(
      options, args.wait,
      [&](dbus::Client& client) {
        return args.pid != 0 ? client.checkpoint_process(args.pid, request)
                             : client.checkpoint(args.job, request);
      },
      [&](dbus::Client& client, const manager::RunFinishedEvent& done) {
        if (options.json) {
          // The run as GetRun has it: the checkpoint made, its sizes and the
          // time CRIU kept the target frozen.
          print_finished_run(options, [](const manager::RunInfo&) {})(client, done);
        } else if (done.result == manager::RunState::Skipped) {
          std::cerr << "stasisctl: checkpoint skipped" << (done.error.empty() ? "" : ": ")
                    << done.error << '\n';
        } else {
          std::cout << done.checkpoint << '\n';
          if (!options.quiet && !left_running(client, args, request)) {
            std::cerr << fmt::format("stasisctl: the process tree was stopped by the "
                                     "checkpoint; bring it back with: stasisctl restore "
                                     "{} {}\n",
                                     done.job, done.checkpoint);
          }
        }
      });
}

struct RestoreArgs {
  std::string job;
  std::string checkpoint;
  std::string from; // --from REF: pull it first, then restore what was pulled
  RemoteArgs remote;
  bool new_pidns = false;
  bool lazy = false;
  bool tcp_close = false;
  bool terminal = false;    // --terminal: hand our terminal even if not needed
  bool no_terminal = false; // --no-terminal: never hand it
  WaitArgs wait;
};

// Our terminal for RestoreOnTerminal: standard input when it is a terminal
// open for reading and writing (as a terminal's usually is), else the same
// terminal opened anew for both (it is not made our controlling terminal).
util::UniqueFd our_terminal() {
  if (::isatty(STDIN_FILENO) != 1) {
    return {};
  }
  const int flags = ::fcntl(STDIN_FILENO, F_GETFL);
  if (flags >= 0 && (flags & O_ACCMODE) == O_RDWR) {
    return util::UniqueFd(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3));
  }
  const char* name = ::ttyname(STDIN_FILENO);
  return util::UniqueFd(name == nullptr ? -1
                                        : ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
}

// The job a registry tag names: JOB-latest or JOB-ORIGIN-ID (origins and
// ids have no '-'); "" when the tag is neither.
std::string job_of_tag(const std::string& tag) {
  constexpr std::string_view k_latest = "-latest";
  if (tag.size() > k_latest.size() && tag.ends_with(k_latest)) {
    return tag.substr(0, tag.size() - k_latest.size());
  }
  const auto id = tag.rfind('-');
  if (id == std::string::npos || id == 0) {
    return "";
  }
  const auto origin = tag.rfind('-', id - 1);
  return origin == std::string::npos || origin == 0 ? "" : tag.substr(0, origin);
}

// The registry options for args.from; fills the job restore will use when
// none was given. Nullopt after a report.
std::optional<manager::RemoteOptions> registry_for_restore(RestoreArgs& args,
                                                           GlobalOptions& options) {
  auto ref = remote::parse_reference(args.from);
  if (!ref) {
    std::cerr << "stasisctl: --from: " << ref.error().message << '\n';
    options.exit_code = k_exit_usage;
    return std::nullopt;
  }
  if (args.job.empty()) {
    args.job =
        ::geteuid() == 0 ? job_of_tag(ref->tag) : fmt::format("user-{}", ::geteuid());
  }
  if (args.job.empty()) {
    std::cerr << "stasisctl: --from: name the job to restore into (the tag " << ref->tag
              << " names none)\n";
    options.exit_code = k_exit_usage;
    return std::nullopt;
  }
  auto remote_options = remote_options_for(args.remote, ref->registry);
  if (!remote_options) {
    std::cerr << "stasisctl: " << remote_options.error().message << '\n';
    options.exit_code = k_exit_usage;
    return std::nullopt;
  }
  return *remote_options;
}

// Pulls args.from into the job restore will use; fills job and checkpoint.
// False after a report.
bool pull_for_restore(RestoreArgs& args, GlobalOptions& options) {
  auto remote_options = registry_for_restore(args, options);
  if (!remote_options) {
    return false;
  }
  bool pulled = false;
  run_and_wait(
      options, WaitArgs{false, args.wait.timeout_seconds},
      [&](dbus::Client& client) {
        return client.pull(args.from, args.job, *remote_options);
      },
      [&](dbus::Client&, const manager::RunFinishedEvent& done) {
        args.checkpoint = done.checkpoint;
        pulled = true;
        if (!options.json && !options.quiet) {
          std::cerr << fmt::format("pulled {} into job {} as checkpoint {}\n", args.from,
                                   args.job, done.checkpoint);
        }
      });
  return pulled;
}

void restore(RestoreArgs args, GlobalOptions& options) {
  manager::RestoreOptions request;
  // --from with --lazy: stasisd restores straight from the registry (pages on
  // demand, the rest in the background); without --lazy: pull, then restore.
  const bool from_registry = !args.from.empty() && args.lazy;
  if (from_registry) {
    if (!args.checkpoint.empty()) {
      std::cerr << "stasisctl: --from restores the checkpoint its tag names; give no "
                   "CHECKPOINT\n";
      options.exit_code = k_exit_usage;
      return;
    }
    auto remote_options = registry_for_restore(args, options);
    if (!remote_options) {
      return;
    }
    request.from = args.from;
    request.remote = *remote_options;
  } else if (!args.from.empty() && !pull_for_restore(args, options)) {
    return;
  }
  if (args.job.empty()) {
    std::cerr << "stasisctl: restore needs a JOB (or --from REF)\n";
    options.exit_code = k_exit_usage;
    return;
  }
  if (args.new_pidns) {
    request.new_pid_namespace = true;
  }
  if (args.lazy) {
    request.lazy = true;
  }
  if (args.tcp_close) {
    request.tcp_close = true;
  }
  util::UniqueFd terminal;
  if (args.terminal) {
    terminal = our_terminal();
    if (!terminal) {
      std::cerr << "stasisctl: --terminal: standard input is not a terminal\n";
      options.exit_code = k_exit_usage;
      return;
    }
  }
  run_and_wait(
      options, args.wait,
      [&](dbus::Client& client) -> dbus::CResult<std::string> {
        std::string checkpoint;
        if (!from_registry) {
          checkpoint = STASIS_TRY(resolve_checkpoint(client, args.job, args.checkpoint));
        }
        // A shell job comes back on the terminal `stasisctl restore` runs in,
        // as with `criu restore --shell-job` typed there.
        if (!terminal && !args.no_terminal && !from_registry &&
            ::isatty(STDIN_FILENO) == 1) {
          if (auto job = client.get_job(args.job); job && job->shell_job) {
            terminal = our_terminal();
          }
        }
        return terminal ? client.restore_on_terminal(args.job, checkpoint, request,
                                                     terminal.get())
                        : client.restore(args.job, checkpoint, request);
      },
      print_finished_run(options, [&](const manager::RunInfo& run) {
        if (from_registry && !options.quiet) {
          std::cerr << fmt::format("restored {} lazily; every page came and it is "
                                   "stored as checkpoint {} of job {}\n",
                                   args.from, run.checkpoint, args.job);
        }
        std::cout << run.pid << '\n';
      }));
}

struct PushArgs {
  std::string job;
  std::string checkpoint;
  std::string reference;
  std::string origin;
  RemoteArgs remote;
  WaitArgs wait;
};

void push(const PushArgs& args, GlobalOptions& options) {
  auto access = registry_access(args.reference, args.remote);
  if (!access) {
    std::cerr << "stasisctl: " << access.error().message << '\n';
    options.exit_code = k_exit_usage;
    return;
  }
  auto* remote_options = &access->options;
  remote_options->origin = args.origin;
  const std::string checkpoint = args.checkpoint == "latest" ? "" : args.checkpoint;
  run_and_wait(
      options, args.wait,
      [&](dbus::Client& client) {
        return client.push(args.job, checkpoint, args.reference, *remote_options);
      },
      print_finished_run(options, [&options](const manager::RunInfo& run) {
        if (options.quiet) {
          std::cout << run.remote << '\n';
          return;
        }
        std::cout << fmt::format("pushed {} {} to {} ({} bytes uploaded)\n", run.job,
                                 run.checkpoint, run.remote, run.stored_bytes);
      }));
}

struct PullArgs {
  std::string reference;
  std::string job;
  RemoteArgs remote;
  WaitArgs wait;
};

void pull(PullArgs args, GlobalOptions& options) {
  auto access = registry_access(args.reference, args.remote);
  if (!access) {
    std::cerr << "stasisctl: " << access.error().message << '\n';
    options.exit_code = k_exit_usage;
    return;
  }
  if (args.job.empty()) {
    args.job = ::geteuid() == 0 ? job_of_tag(access->ref.tag)
                                : fmt::format("user-{}", ::geteuid());
  }
  const auto* remote_options = &access->options;
  run_and_wait(
      options, args.wait,
      [&](dbus::Client& client) {
        return client.pull(args.reference, args.job, *remote_options);
      },
      print_finished_run(options, [&](const manager::RunInfo& run) {
        if (options.quiet) {
          std::cout << run.checkpoint << '\n';
          return;
        }
        std::cout << fmt::format("pulled {} into job {} as checkpoint {} ({} bytes "
                                 "downloaded)\n",
                                 args.reference, run.job, run.checkpoint,
                                 run.stored_bytes);
      }));
}

void cancel(const std::string& run, GlobalOptions& options) {
  auto client = connect_daemon(options);
  if (!client) {
    return;
  }
  if (auto cancelled = client->cancel_run(run); !cancelled) {
    report(cancelled.error(), options);
  }
}

} // namespace

void register_daemon_run_commands(CLI::App& app, GlobalOptions& options) {
  auto checkpoint_args = std::make_shared<CheckpointArgs>();
  auto* checkpoint_cmd = app.add_subcommand(
      "checkpoint",
      "Checkpoint a job now, or one of your processes (--pid); prints the id");
  checkpoint_cmd->add_option("job", checkpoint_args->job, "Job name");
  auto* pid = checkpoint_cmd->add_option("--pid", checkpoint_args->pid,
                                         "Ad-hoc checkpoint of this process (yours)");
  auto* leave =
      checkpoint_cmd->add_flag("--leave-running", checkpoint_args->leave_running,
                               "Keep the target running after the dump");
  auto* stop = checkpoint_cmd->add_flag("--stop", checkpoint_args->stop,
                                        "Stop the target after the dump");
  leave->excludes(stop);
  checkpoint_cmd->add_flag("--stream", checkpoint_args->stream,
                           "Stream the pages into the store as CRIU dumps them (no "
                           "pages file on disk)");
  checkpoint_cmd
      ->add_flag("--shell-job", checkpoint_args->shell_job,
                 "The process is attached to a terminal (with --pid)")
      ->needs(pid);
  checkpoint_cmd
      ->add_flag("--file-locks", checkpoint_args->file_locks,
                 "Dump held file locks (with --pid)")
      ->needs(pid);
  checkpoint_cmd
      ->add_flag("--tcp-established", checkpoint_args->tcp_established,
                 "Dump established TCP connections (with --pid)")
      ->needs(pid);
  checkpoint_cmd
      ->add_flag("--ext-unix-sk", checkpoint_args->ext_unix_sk,
                 "Allow external UNIX sockets (with --pid)")
      ->needs(pid);
  add_wait_options(*checkpoint_cmd, checkpoint_args->wait);
  checkpoint_cmd->callback(
      [&options, checkpoint_args] { checkpoint(*checkpoint_args, options); });

  auto restore_args = std::make_shared<RestoreArgs>();
  auto* restore_cmd = app.add_subcommand(
      "restore", "Restore a job's checkpoint (default: the newest); prints the pid");
  restore_cmd->add_option("job", restore_args->job,
                          "Job name (with --from: default the job the tag names, or "
                          "your own job user-UID)");
  restore_cmd->add_option("checkpoint", restore_args->checkpoint,
                          "Checkpoint id, or latest (default: the newest)");
  restore_cmd->add_flag("--new-pidns", restore_args->new_pidns,
                        "Restore into a new PID namespace");
  restore_cmd->add_flag("--lazy", restore_args->lazy,
                        "Restore memory lazily (lazy-pages)");
  restore_cmd->add_flag("--tcp-close", restore_args->tcp_close,
                        "Restore established TCP connections closed (e.g. on another "
                        "host)");
  auto* terminal = restore_cmd->add_flag(
      "--terminal", restore_args->terminal,
      "Restore the shell job onto this terminal (default: when the job is a shell "
      "job and standard input is a terminal)");
  restore_cmd
      ->add_flag("--no-terminal", restore_args->no_terminal,
                 "Do not hand this terminal to stasisd (a shell job then needs "
                 "stasisd's own terminal)")
      ->excludes(terminal);
  restore_cmd->add_option(
      "--from", restore_args->from,
      "Restore this registry checkpoint (HOST/REPO:TAG): pulled first, or with "
      "--lazy restored at once, its memory coming from the registry on demand and "
      "stored as the job's next checkpoint once all of it came");
  add_remote_options(*restore_cmd, restore_args->remote);
  add_wait_options(*restore_cmd, restore_args->wait);
  restore_cmd->callback([&options, restore_args] { restore(*restore_args, options); });

  auto cancel_run = std::make_shared<std::string>();
  auto* cancel_cmd = app.add_subcommand(
      "cancel", "Cancel a queued or running run (the target keeps running)");
  cancel_cmd->add_option("run", *cancel_run, "Run id")->required();
  cancel_cmd->callback([&options, cancel_run] { cancel(*cancel_run, options); });

  auto push_args = std::make_shared<PushArgs>();
  auto* push_cmd = app.add_subcommand(
      "push", "Copy a checkpoint to an OCI registry repository (HOST[:PORT]/REPO)");
  push_cmd->add_option("job", push_args->job, "Job name")->required();
  push_cmd->add_option("checkpoint", push_args->checkpoint, "Checkpoint id or latest")
      ->required();
  push_cmd->add_option("reference", push_args->reference, "Repository: HOST[:PORT]/REPO")
      ->required();
  push_cmd->add_option(
      "--origin", push_args->origin,
      "This host's name in the tag JOB-ORIGIN-ID (default: the host name)");
  add_remote_options(*push_cmd, push_args->remote);
  add_wait_options(*push_cmd, push_args->wait);
  push_cmd->callback([&options, push_args] { push(*push_args, options); });

  auto pull_args = std::make_shared<PullArgs>();
  auto* pull_cmd = app.add_subcommand(
      "pull",
      "Copy a checkpoint from an OCI registry (HOST[:PORT]/REPO:TAG) into the store");
  pull_cmd->add_option("reference", pull_args->reference, "HOST[:PORT]/REPO:TAG")
      ->required();
  pull_cmd->add_option("--job", pull_args->job,
                       "Job to add it to (default: the job the tag names, or your own "
                       "job user-UID)");
  add_remote_options(*pull_cmd, pull_args->remote);
  add_wait_options(*pull_cmd, pull_args->wait);
  pull_cmd->callback([&options, pull_args] { pull(*pull_args, options); });

  for (auto* command : {checkpoint_cmd, restore_cmd, cancel_cmd, push_cmd, pull_cmd}) {
    command->fallthrough();
  }
}

} // namespace stasis::cli
