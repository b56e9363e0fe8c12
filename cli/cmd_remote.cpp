// `stasisctl remote-checkpoints REF`: the checkpoints in an OCI registry
// repository. It asks the registry itself, with the caller's credentials:
// no daemon is involved.
#include "cli/commands.hpp"
#include "cli/daemon_client.hpp"
#include "cli/remote_access.hpp"

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace stasis::cli {
namespace {

struct ListArgs {
  std::string reference;
  RemoteArgs remote;
};

void list_remote(const ListArgs& args, GlobalOptions& options) {
  auto access = registry_access(args.reference, args.remote);
  if (!access) {
    std::cerr << "stasisctl: " << access.error().message << '\n';
    options.exit_code = k_exit_usage;
    return;
  }
  auto listed = remote::list_checkpoints(access->ref, client_options_of(access->options));
  if (!listed) {
    std::cerr << "stasisctl: " << listed.error().message << '\n';
    options.exit_code = k_exit_failure;
    return;
  }
  if (options.json) {
    auto out = nlohmann::json::array();
    for (const auto& checkpoint : *listed) {
      out.push_back({{"tag", checkpoint.tag},
                     {"job", checkpoint.job},
                     {"origin", checkpoint.origin},
                     {"id", std::to_string(checkpoint.id)},
                     {"created", json_time(manager::TimePoint(checkpoint.created))},
                     {"logical_bytes", checkpoint.logical_bytes},
                     {"digest", checkpoint.manifest_digest}});
    }
    std::cout << out.dump(2) << '\n';
    return;
  }
  std::cout << fmt::format("{:<40} {:<20} {:>10}  {}\n", "TAG", "CREATED", "SIZE",
                           "DIGEST");
  for (const auto& checkpoint : *listed) {
    std::cout << fmt::format("{:<40} {:<20} {:>10}  {}\n", checkpoint.tag,
                             format_time(manager::TimePoint(checkpoint.created)),
                             format_bytes(checkpoint.logical_bytes),
                             checkpoint.manifest_digest.substr(0, 19));
  }
}

} // namespace

void register_remote_commands(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<ListArgs>();
  auto* command = app.add_subcommand(
      "remote-checkpoints", "List the checkpoints in an OCI registry repository");
  command->add_option("reference", args->reference, "Repository: HOST[:PORT]/REPO")
      ->required();
  add_remote_options(*command, args->remote);
  command->callback([&options, args] { list_remote(*args, options); });
  command->fallthrough();
}

} // namespace stasis::cli
