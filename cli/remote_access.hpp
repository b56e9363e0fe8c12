// How stasisctl reaches a registry for push, pull, restore --from and
// remote-checkpoints: credentials and CAs are read here, with the rights of
// the user who runs stasisctl, and sent to stasisd with the call (stasisd
// reads no credentials file for a caller).
#pragma once

#include "manager/api.hpp"
#include "remote/remote.hpp"
#include "util/result.hpp"

#include <string>

#include <CLI/CLI.hpp>

namespace stasis::cli {

struct RemoteArgs {
  std::string authfile; // containers-auth.json(5); "" = the usual places
  std::string creds;    // USER[:PASSWORD], as skopeo --creds
  std::string ca_file;  // extra CA certificates (PEM)
  bool plain_http = false;
};

// Adds --authfile, --creds, --ca-file and --plain-http to command.
void add_remote_options(CLI::App& command, RemoteArgs& args);

// The options for a registry: --creds, else the entry for it in --authfile
// or, without one, the first of $REGISTRY_AUTH_FILE,
// $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json and
// ~/.docker/config.json that exists (none: anonymous).
Result<manager::RemoteOptions> remote_options_for(const RemoteArgs& args,
                                                  const std::string& registry);

// A parsed reference and the options to reach its registry.
struct RegistryAccess {
  remote::Reference ref;
  manager::RemoteOptions options;
};

// parse_reference, then remote_options_for its registry; the error says
// which of the two failed (a usage error for the caller).
Result<RegistryAccess> registry_access(const std::string& reference,
                                       const RemoteArgs& args);

// The same as the client library takes them (remote-checkpoints).
remote::ClientOptions client_options_of(const manager::RemoteOptions& options);

} // namespace stasis::cli
