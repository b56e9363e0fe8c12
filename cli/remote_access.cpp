#include "cli/remote_access.hpp"

#include "util/small_file.hpp"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

namespace stasis::cli {

namespace fs = std::filesystem;

namespace {

// The largest credentials or CA file stasisctl reads.
constexpr std::uintmax_t k_max_file_bytes = 1 << 20;

Result<std::string> read_file(const std::string& path, const char* what) {
  return util::read_small_file(path, k_max_file_bytes, what);
}

std::string default_authfile() {
  std::vector<std::string> candidates;
  if (const char* file = std::getenv("REGISTRY_AUTH_FILE");
      file != nullptr && *file != 0) {
    candidates.emplace_back(file);
  }
  if (const char* run = std::getenv("XDG_RUNTIME_DIR"); run != nullptr && *run != 0) {
    candidates.push_back(std::string(run) + "/containers/auth.json");
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != 0) {
    candidates.push_back(std::string(home) + "/.config/containers/auth.json");
    candidates.push_back(std::string(home) + "/.docker/config.json");
  }
  for (const auto& candidate : candidates) {
    std::error_code error;
    if (fs::is_regular_file(candidate, error)) {
      return candidate;
    }
  }
  return "";
}

} // namespace

void add_remote_options(CLI::App& command, RemoteArgs& args) {
  command.add_option("--authfile", args.authfile,
                     "Registry credentials in containers-auth.json(5) form (default: "
                     "podman's and docker's usual files)");
  command.add_option("--creds", args.creds,
                     "Registry credentials USER[:PASSWORD] (instead of an authfile)");
  command.add_option("--ca-file", args.ca_file,
                     "Extra CA certificates (PEM) trusted for the registry");
  command.add_flag("--plain-http", args.plain_http,
                   "Speak HTTP, not HTTPS, to the registry (loopback)");
}

Result<manager::RemoteOptions> remote_options_for(const RemoteArgs& args,
                                                  const std::string& registry) {
  manager::RemoteOptions options;
  options.plain_http = args.plain_http;
  if (!args.ca_file.empty()) {
    options.ca_pem = STASIS_TRY(read_file(args.ca_file, "CA file"));
  }
  if (!args.creds.empty()) {
    const auto colon = args.creds.find(':');
    options.username = args.creds.substr(0, colon);
    options.password = colon == std::string::npos ? "" : args.creds.substr(colon + 1);
    return options;
  }
  const std::string file = args.authfile.empty() ? default_authfile() : args.authfile;
  if (file.empty()) {
    return options;
  }
  const auto text = STASIS_TRY(read_file(file, "authfile"));
  auto credentials = remote::credentials_from_auth_json(text, registry);
  if (!credentials) {
    return make_error("{}: {}", file, credentials.error().message);
  }
  if (*credentials) {
    options.username = (*credentials)->username;
    options.password = (*credentials)->password;
  } else if (!args.authfile.empty()) {
    return make_error("{} has no credentials for {}", file, registry);
  }
  return options;
}

Result<RegistryAccess> registry_access(const std::string& reference,
                                       const RemoteArgs& args) {
  auto ref = STASIS_TRY(remote::parse_reference(reference));
  auto options = STASIS_TRY(remote_options_for(args, ref.registry));
  return RegistryAccess{std::move(ref), std::move(options)};
}

remote::ClientOptions client_options_of(const manager::RemoteOptions& options) {
  remote::ClientOptions client;
  if (!options.username.empty() || !options.password.empty()) {
    client.credentials = remote::Credentials{options.username, options.password};
  }
  client.ca_pem = options.ca_pem;
  client.plain_http = options.plain_http;
  return client;
}

} // namespace stasis::cli
