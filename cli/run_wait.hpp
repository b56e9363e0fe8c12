// Waiting for a run stasisd started: its RunFinished signal (its progress on
// standard error meanwhile, cli/progress_view.hpp), with GetRun asked every
// second so that a lost signal never makes stasisctl hang; --no-wait,
// and --timeout (the global --quiet hides the progress).
#pragma once

#include "cli/daemon_client.hpp"
#include "cli/progress_view.hpp"

#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace stasis::cli {

struct WaitArgs {
  bool no_wait = false;
  unsigned timeout_seconds = 0; // 0 = no limit
};

// Collects the signals of all runs; the run id is known only after the call.
struct RunTracker {
  std::map<std::string, manager::RunFinishedEvent> finished;
  std::string run;
  // Set when progress is shown: drawn in place on a terminal, else as lines.
  std::optional<ProgressView> view;

  void on_event(const manager::Event& event);
  // Ends the progress display (erases a drawn line).
  void end_progress();
};

// Waits until the run finishes; returns its RunFinished event, or nothing
// after a report (error or timeout) that set the exit code.
std::optional<manager::RunFinishedEvent> wait_for(dbus::Client& client,
                                                  RunTracker& tracker,
                                                  const WaitArgs& args,
                                                  GlobalOptions& options);

// --no-wait and --timeout.
void add_wait_options(CLI::App& command, WaitArgs& args);

// Starts a run with `start` and, unless --no-wait, waits for it and prints
// the outcome with `print_success`.
template <typename Start, typename Print>
void run_and_wait(GlobalOptions& options, const WaitArgs& args, Start start,
                  Print print_success) {
  auto client = connect_daemon(options);
  if (!client) {
    return;
  }
  auto tracker = std::make_shared<RunTracker>();
  if (!options.json && !options.quiet) {
    tracker->view.emplace(may_use_escape_codes());
  }
  client->on_event([tracker](const manager::Event& event) { tracker->on_event(event); });
  // Progress and the end of the run come as signals to subscribers. Without
  // them (a refused subscription) the wait still ends: it asks GetRun too.
  if (!args.no_wait) {
    if (auto subscribed = client->subscribe(); !subscribed) {
      if (subscribed.error().kind == dbus::ClientErrorKind::Unreachable) {
        return report(subscribed.error(), options);
      }
      if (!options.quiet) {
        std::cerr << fmt::format("stasisctl: no progress signals: {}\n",
                                 subscribed.error().message);
      }
    }
  }

  auto run = start(*client);
  if (!run) {
    return report(run.error(), options);
  }
  tracker->run = *run;
  if (args.no_wait) {
    if (options.json) {
      std::cout << nlohmann::json{{"run", *run}}.dump(2) << '\n';
    } else {
      std::cout << *run << '\n';
    }
    return;
  }
  const auto finished = wait_for(*client, *tracker, args, options);
  if (!finished) {
    return;
  }
  const bool succeeded = finished->result == manager::RunState::Succeeded;
  if (!succeeded && finished->result != manager::RunState::Skipped) {
    options.exit_code = k_exit_failure;
  }
  if (!options.json && !succeeded) {
    std::cerr << fmt::format("stasisctl: {} run {} of job {} {}{}{}\n",
                             manager::to_string(finished->kind), finished->run,
                             finished->job, manager::to_string(finished->result),
                             finished->error.empty() ? "" : ": ", finished->error);
    return;
  }
  print_success(*client, *finished);
}

// A print_success for run_and_wait: the finished run as GetRun has it,
// printed as JSON with --json, else by human(run).
template <typename Human>
auto print_finished_run(GlobalOptions& options, Human human) {
  return [&options, human](dbus::Client& client, const manager::RunFinishedEvent& done) {
    auto run = client.get_run(done.run);
    if (!run) {
      return report(run.error(), options);
    }
    if (options.json) {
      std::cout << to_json(*run).dump(2) << '\n';
    } else {
      human(*run);
    }
  };
}

} // namespace stasis::cli
