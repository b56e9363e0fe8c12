// Daemon commands that inspect and steer stasisd over D-Bus: jobs, status,
// history, log, reload, engine-info, metrics, watch (runs: cmd_daemon_runs.cpp).
#include "cli/commands.hpp"
#include "cli/daemon_client.hpp"
#include "dbus/bus.hpp"

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace stasis::cli {
namespace {

using nlohmann::json;

void print_runs(const std::vector<manager::RunInfo>& runs) {
  fmt::print("{:<22} {:<16} {:<10} {:<10} {:<19} {}\n", "RUN", "JOB", "KIND", "STATE",
             "STARTED", "CHECKPOINT / ERROR");
  for (const auto& run : runs) {
    fmt::print("{:<22} {:<16} {:<10} {:<10} {:<19} {}\n", run.id, run.job,
               manager::to_string(run.kind), manager::to_string(run.state),
               format_time(run.started), run.error.empty() ? run.checkpoint : run.error);
  }
}

// The policy files stasisd left out (degraded: their jobs do not run, or run
// as they were before the last reload).
void print_policy_problems(const manager::DaemonStatus& daemon) {
  if (daemon.bad_policy_files == 0) {
    return;
  }
  fmt::print("DEGRADED: {} policy file(s) left out", daemon.bad_policy_files);
  if (daemon.policy_problems.empty()) {
    fmt::print(" (root sees why with stasisctl status)\n");
    return;
  }
  fmt::print(" (fix them, then stasisctl reload):\n");
  for (const auto& problem : daemon.policy_problems) {
    fmt::print("  {}\n", problem);
  }
}

void jobs(GlobalOptions& options) {
  if (options.quiet && !options.json) {
    for (const auto& name : quiet_job_names(options)) {
      std::cout << name << '\n';
    }
    return;
  }
  auto jobs = call_daemon(options, [](dbus::Client& c) { return c.list_jobs(); });
  if (!jobs) {
    return;
  }
  if (options.json) {
    json list = json::array();
    for (const auto& job : *jobs) {
      list.push_back(to_json(job));
    }
    std::cout << list.dump(2) << '\n';
    return;
  }
  fmt::print("{:<16} {:<14} {:<19} {:<19} {:>5}  {}\n", "JOB", "SCHEDULE", "NEXT RUN",
             "LAST RUN", "KEPT", "LAST RESULT");
  for (const auto& job : *jobs) {
    fmt::print("{:<16} {:<14} {:<19} {:<19} {:>5}  {}\n", job.name, job.schedule,
               format_time(job.next_run), format_time(job.last_run), job.checkpoints,
               job.last_result.empty() ? "-" : job.last_result);
  }
}

void job_status(dbus::Client& client, const std::string& name, GlobalOptions& options) {
  auto job = client.get_job(name);
  if (!job) {
    return report(job.error(), options);
  }
  auto runs = client.list_runs(name, 5);
  if (!runs) {
    return report(runs.error(), options);
  }
  if (options.json) {
    json runs_json = json::array();
    for (const auto& run : *runs) {
      runs_json.push_back(to_json(run));
    }
    std::cout << json{{"job", to_json(*job)}, {"runs", runs_json}}.dump(2) << '\n';
    return;
  }
  fmt::print("job:          {}\n", job->name);
  if (!job->description.empty()) {
    fmt::print("description:  {}\n", job->description);
  }
  fmt::print("target:       {}\nschedule:     {}\nnext run:     {}\nlast run:     {}\n"
             "last result:  {}\ncheckpoints:  {}\npolicy file:  {}\nfingerprint:  {}\n\n",
             job->target, job->schedule, format_time(job->next_run),
             format_time(job->last_run),
             job->last_result.empty() ? "-" : job->last_result, job->checkpoints,
             job->policy_file, job->fingerprint);
  if (!job->last_push_result.empty()) {
    fmt::print("last push:    {}  {}\n              {}\n\n", format_time(job->last_push),
               job->last_push_result,
               job->last_push_remote.empty() ? "-" : job->last_push_remote);
  }
  print_runs(*runs);
}

void status(const std::string& job, GlobalOptions& options) {
  auto client = connect_daemon(options);
  if (!client) {
    return;
  }
  if (!job.empty()) {
    return job_status(*client, job, options);
  }
  auto daemon = client->status();
  if (!daemon) {
    return report(daemon.error(), options);
  }
  auto jobs = client->list_jobs();
  if (!jobs) {
    return report(jobs.error(), options);
  }
  auto runs = client->list_runs("", 5);
  if (!runs) {
    return report(runs.error(), options);
  }
  if (options.json) {
    json runs_json = json::array();
    for (const auto& run : *runs) {
      runs_json.push_back(to_json(run));
    }
    std::cout << json{{"version", daemon->version},
                      {"bus", dbus::resolve_bus(options.bus)},
                      {"jobs", jobs->size()},
                      {"bad_policy_files", daemon->bad_policy_files},
                      {"policy_problems", daemon->policy_problems},
                      {"runs", runs_json}}
                     .dump(2)
              << '\n';
    return;
  }
  fmt::print("stasisd {} on the {} bus, {} job(s) visible to you\n", daemon->version,
             dbus::resolve_bus(options.bus), jobs->size());
  print_policy_problems(*daemon);
  fmt::print("\n");
  print_runs(*runs);
}

void history(const std::string& job, std::uint32_t limit, GlobalOptions& options) {
  auto runs =
      call_daemon(options, [&](dbus::Client& c) { return c.list_runs(job, limit); });
  if (!runs) {
    return;
  }
  if (options.json) {
    json list = json::array();
    for (const auto& run : *runs) {
      list.push_back(to_json(run));
    }
    std::cout << list.dump(2) << '\n';
    return;
  }
  if (options.quiet) {
    for (const auto& run : *runs) {
      std::cout << run.id << '\n';
    }
    return;
  }
  print_runs(*runs);
}

void reload(GlobalOptions& options) {
  auto changes = call_daemon(options, [](dbus::Client& c) { return c.reload(); });
  if (!changes) {
    return;
  }
  if (options.json) {
    std::cout << json{{"added", changes->added},
                      {"removed", changes->removed},
                      {"changed", changes->changed},
                      {"problems", changes->problems}}
                     .dump(2)
              << '\n';
  } else if (!options.quiet) {
    fmt::print("added:   {}\nremoved: {}\nchanged: {}\n", fmt::join(changes->added, ", "),
               fmt::join(changes->removed, ", "), fmt::join(changes->changed, ", "));
  }
  // A file left out is a failed part of the reload: its jobs kept what they had.
  if (!changes->problems.empty()) {
    std::cerr << "stasisctl: policy files left out (their jobs keep their old "
                 "definition):\n";
    for (const auto& problem : changes->problems) {
      std::cerr << "  " << problem << '\n';
    }
    options.exit_code = k_exit_failure;
  }
}

void engine_info(GlobalOptions& options) {
  auto engine = call_daemon(options, [](dbus::Client& c) { return c.engine_info(); });
  if (!engine) {
    return;
  }
  if (options.json) {
    std::cout << engine_json(engine_report(*engine)).dump(2) << '\n';
    return;
  }
  fmt::print("criu:        {} ({})\nkernel:      {}\nmem track:   {}\nlazy pages:  {}\n",
             engine->criu_path, engine->criu_version, engine->kernel,
             engine->mem_track ? "yes" : "no", engine->lazy_pages ? "yes" : "no");
}

void run_log(const std::string& run, GlobalOptions& options) {
  auto text = call_daemon(options, [&run](dbus::Client& c) { return c.run_log(run); });
  if (!text) {
    return;
  }
  if (options.json) {
    std::cout << json{{"run", run}, {"log", *text}}.dump(2) << '\n';
    return;
  }
  std::cout << *text;
}

// The text is in the Prometheus format; --json: its samples as JSON.
void metrics(GlobalOptions& options) {
  auto text = call_daemon(options, [](dbus::Client& c) { return c.metrics(); });
  if (text) {
    if (options.json) {
      std::cout << metrics_json(*text).dump(2) << '\n';
    } else {
      std::cout << *text;
    }
  }
}

void watch(GlobalOptions& options) {
  auto client = connect_daemon(options);
  if (!client) {
    return;
  }
  // Fail early (exit 3) when nobody serves the name, instead of waiting forever.
  if (auto version = client->version(); !version) {
    return report(version.error(), options);
  }
  // stasisd sends the run and checkpoint signals of the jobs this user may
  // list to subscribed connections only.
  if (auto subscribed = client->subscribe(); !subscribed) {
    return report(subscribed.error(), options);
  }
  const bool json_lines = options.json;
  client->on_event([json_lines](const manager::Event& event) {
    if (json_lines) {
      std::cout << to_json(event).dump() << std::endl;
    } else {
      std::cout << describe(event) << std::endl;
    }
  });
  auto waited = client->wait_events([] { return false; }, std::nullopt);
  if (!waited) {
    report(waited.error(), options);
  }
}

} // namespace

void register_daemon_commands(CLI::App& app, GlobalOptions& options) {
  app.add_option("--bus", options.bus,
                 "Bus of stasisd: system, session or a D-Bus address "
                 "(default: $STASIS_BUS_ADDRESS, else system)");

  auto* jobs_cmd = app.add_subcommand("jobs", "List the jobs stasisd runs (daemon)");
  jobs_cmd->add_flag("-q,--quiet", options.quiet, k_quiet_help);
  jobs_cmd->callback([&options] { jobs(options); });

  // Arguments live as long as the callbacks that own them.
  auto* status_cmd =
      app.add_subcommand("status", "Daemon status, or one job's details and recent runs");
  auto status_job = std::make_shared<std::string>();
  status_cmd->add_option("job", *status_job, "Job name");
  status_cmd->callback([&options, status_job] { status(*status_job, options); });

  struct HistoryArgs {
    std::string job;
    std::uint32_t limit = 20;
  };
  auto* history_cmd = app.add_subcommand("history", "Recent runs, newest first (daemon)");
  auto history_args = std::make_shared<HistoryArgs>();
  history_cmd->add_option("job", history_args->job, "Only runs of this job");
  history_cmd->add_option("--limit", history_args->limit, "How many runs (0 = 100)")
      ->capture_default_str();
  history_cmd->add_flag("-q,--quiet", options.quiet, "Only the run ids, one a line");
  history_cmd->callback([&options, history_args] {
    history(history_args->job, history_args->limit, options);
  });

  auto* log_cmd = app.add_subcommand(
      "log", "CRIU's logs of a run (kept when the run failed; run ids: history)");
  auto log_run = std::make_shared<std::string>();
  log_cmd->add_option("run", *log_run, "Run id")->required();
  log_cmd->callback([&options, log_run] { run_log(*log_run, options); });

  auto* reload_cmd =
      app.add_subcommand("reload", "Make stasisd re-read its policy directory");
  reload_cmd->callback([&options] { reload(options); });

  auto* engine_cmd =
      app.add_subcommand("engine-info", "The CRIU stasisd uses, as the daemon sees it");
  engine_cmd->callback([&options] { engine_info(options); });

  auto* metrics_cmd = app.add_subcommand(
      "metrics", "stasisd's metrics in the Prometheus text format (as its metrics-file; "
                 "--json: {metrics: [{name, labels, value}]})");
  metrics_cmd->callback([&options] { metrics(options); });

  auto* watch_cmd = app.add_subcommand(
      "watch", "Print stasisd's signals as they arrive (--json: JSON lines)");
  watch_cmd->callback([&options] { watch(options); });

  for (auto* command : {jobs_cmd, status_cmd, history_cmd, log_cmd, reload_cmd,
                        engine_cmd, metrics_cmd, watch_cmd}) {
    command->fallthrough();
  }
  register_daemon_run_commands(app, options);
}

} // namespace stasis::cli
