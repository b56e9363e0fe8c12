// stasisctl: the command line of stasis.
#include "cli/commands.hpp"
#include "util/log.hpp"
#include "util/version.hpp"

#include <exception>
#include <iostream>

#include <fmt/format.h>

int main(int argc, char** argv) {
  using namespace stasis::cli;
  CLI::App app{"stasisctl - control and inspect stasis checkpoints"};
  app.require_subcommand(1);
  app.set_version_flag("--version", fmt::format("stasisctl {}", stasis::util::k_version),
                       "Print the version of stasisctl and exit");
  GlobalOptions options;
  options.app = &app;
  app.add_flag("--json", options.json,
               "Print the result as JSON (before or after the command)");
  app.add_flag("-q,--quiet", options.quiet,
               "No progress or informational lines; listings print only ids or names");
  app.add_flag("-v,--verbose", options.verbose, "More log output (repeatable)");
  app.parse_complete_callback([&options] {
    stasis::log::set_level(options.verbose >= 2   ? spdlog::level::trace
                           : options.verbose == 1 ? spdlog::level::debug
                                                  : spdlog::level::warn);
  });

  register_engine_commands(app, options);
  register_policy_commands(app, options);
  register_store_commands(app, options);
  register_store_admin_commands(app, options);
  register_inspect_commands(app, options);
  register_daemon_commands(app, options);
  register_remote_commands(app, options);
  // --json, --quiet, --bus and -v work after the subcommand as well.
  for (auto* command : app.get_subcommands({})) {
    command->fallthrough();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors exit with 2 (stasisctl(1)); --help and --version with 0.
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    std::cerr << "stasisctl: " << e.what() << '\n';
    return 1;
  }
  return options.exit_code;
}
