#include "cli/run_wait.hpp"

#include <algorithm>
#include <chrono>

namespace stasis::cli {
namespace {

using namespace std::chrono_literals;

// How often a waiting client double-checks the run with GetRun, in case a
// signal was lost (e.g. the daemon restarted).
constexpr auto k_recheck_interval = 1s;

bool is_terminal(manager::RunState state) {
  return state != manager::RunState::Queued && state != manager::RunState::Running;
}

} // namespace

void RunTracker::on_event(const manager::Event& event) {
  if (const auto* done = std::get_if<manager::RunFinishedEvent>(&event)) {
    finished.emplace(done->run, *done);
  } else if (const auto* progress = std::get_if<manager::RunProgressEvent>(&event)) {
    if (view && progress->run == run) {
      std::cerr << view->update(progress->phase, progress->done, progress->total,
                                ProgressClock::now())
                << std::flush;
    }
  }
}

void RunTracker::end_progress() {
  if (view) {
    std::cerr << view->finish() << std::flush;
  }
}

std::optional<manager::RunFinishedEvent> wait_for(dbus::Client& client,
                                                  RunTracker& tracker,
                                                  const WaitArgs& args,
                                                  GlobalOptions& options) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(args.timeout_seconds);
  std::optional<manager::RunFinishedEvent> result;
  while (!result) {
    auto waited = client.wait_events(
        [&] { return tracker.finished.contains(tracker.run); }, k_recheck_interval);
    if (!waited) {
      tracker.end_progress();
      report(waited.error(), options);
      return std::nullopt;
    }
    if (*waited) {
      result = tracker.finished.at(tracker.run);
      break;
    }
    auto run = client.get_run(tracker.run);
    if (!run) {
      tracker.end_progress();
      report(run.error(), options);
      return std::nullopt;
    }
    if (is_terminal(run->state)) {
      result = manager::RunFinishedEvent{run->id,    run->job,        run->kind,
                                         run->state, run->checkpoint, run->error};
      break;
    }
    if (args.timeout_seconds != 0 && Clock::now() >= deadline) {
      tracker.end_progress();
      std::cerr << fmt::format("stasisctl: run {} is still {} after {} s; follow it with "
                               "`stasisctl watch` or `stasisctl history`\n",
                               tracker.run, manager::to_string(run->state),
                               args.timeout_seconds);
      options.exit_code = k_exit_failure;
      return std::nullopt;
    }
  }
  tracker.end_progress();
  return result;
}

void add_wait_options(CLI::App& command, WaitArgs& args) {
  command.add_flag("--no-wait", args.no_wait, "Print the run id and return at once");
  command
      .add_option("--timeout", args.timeout_seconds,
                  "Give up waiting after this many seconds (0 = never)")
      ->capture_default_str();
}

} // namespace stasis::cli
