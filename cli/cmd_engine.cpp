// `stasisctl engine`: which CRIU stasis uses and what it can do here.
#include "cli/commands.hpp"
#include "cli/json_output.hpp"
#include "engine/criu_client.hpp"
#include "engine/locator.hpp"

#include <iostream>
#include <optional>
#include <string>
#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::cli {
namespace {

struct EngineArgs {
  std::string criu;
};

// As stasisd describes its host: "Linux 6.1.0 x86_64".
std::string kernel_release() {
  utsname name{};
  if (::uname(&name) != 0) {
    return "unknown";
  }
  return fmt::format("{} {} {}", name.sysname, name.release, name.machine);
}

// Runs the queries; what failed is kept as an error in the report.
EngineReport query_engine(const EngineArgs& args) {
  EngineReport report;
  report.kernel = kernel_release();
  auto path = engine::locate_criu(
      args.criu.empty() ? std::nullopt : std::optional<std::filesystem::path>(args.criu));
  if (!path) {
    report.criu_error = path.error().message;
    return report;
  }
  report.criu_path = path->string();
  if (::geteuid() != 0) {
    report.check_ok = false;
    report.check_error =
        "stasisctl engine must run as root: CRIU needs CAP_SYS_ADMIN and "
        "CAP_CHECKPOINT_RESTORE to query the kernel";
    return report;
  }
  engine::CriuClient client(*path);
  if (auto version = client.version()) {
    report.criu_version = *version;
  } else {
    report.criu_error = version.error().message();
  }
  if (auto checked = client.check()) {
    report.check_ok = true;
  } else {
    report.check_ok = false;
    report.check_error = checked.error().message();
  }
  if (auto features = client.features()) {
    report.mem_track = EngineReport::Feature{
        features->mem_track, features->mem_track ? "" : features->mem_track_reason};
    report.lazy_pages = EngineReport::Feature{
        features->lazy_pages, features->lazy_pages ? "" : features->lazy_pages_reason};
  } else {
    report.features_error = features.error().message();
  }
  return report;
}

bool failed(const EngineReport& report) {
  return !report.criu_error.empty() || !report.check_ok || !*report.check_ok ||
         !report.features_error.empty();
}

// Prints the report; returns the exit code.
int show_engine(const EngineArgs& args, bool as_json) {
  const auto report = query_engine(args);
  const int exit_code = failed(report) ? 1 : 0;
  if (as_json) {
    std::cout << engine_json(report).dump(2) << '\n';
    return exit_code;
  }
  if (report.criu_path.empty()) {
    fmt::print("criu:        not found: {}\n", report.criu_error);
  } else {
    fmt::print("criu:        {}\n", report.criu_path);
    if (!report.criu_version.empty()) {
      fmt::print("version:     {}\n", report.criu_version);
    } else if (!report.criu_error.empty()) {
      fmt::print("version:     error: {}\n", report.criu_error);
    }
  }
  if (report.check_ok) {
    fmt::print("check:       {}\n",
               *report.check_ok ? std::string("ok") : "failed: " + report.check_error);
  }
  if (!report.features_error.empty()) {
    fmt::print("features:    error: {}\n", report.features_error);
  }
  for (const auto& [name, feature] : {std::pair{"mem_track", report.mem_track},
                                      std::pair{"lazy_pages", report.lazy_pages}}) {
    if (feature) {
      fmt::print("{:<12} {}\n", std::string(name) + ":",
                 feature->available ? std::string("yes")
                                    : "no (" + feature->reason + ")");
    }
  }
  fmt::print("kernel:      {}\n", report.kernel);
  return exit_code;
}

} // namespace

void register_engine_commands(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<EngineArgs>();
  auto* command = app.add_subcommand(
      "engine", "Show the CRIU stasis uses: path, version, kernel check and features");
  command->add_option("--criu", args->criu, "Use this criu binary instead of searching");
  command->fallthrough();
  command->callback(
      [args, &options] { options.exit_code = show_engine(*args, options.json); });
}

} // namespace stasis::cli
