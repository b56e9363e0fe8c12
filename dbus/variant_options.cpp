#include "dbus/variant_options.hpp"

#include <string_view>
#include <vector>

#include <fmt/ranges.h>

namespace stasis::dbus {
namespace {

using namespace manager;

// One boolean option: its key and the field it sets.
template <typename Options>
struct BoolOption {
  std::string_view key;
  std::optional<bool> Options::*field;
};

// Fills the fields of Options from map; every key must be one of `accepted`.
// `policy_only` are keys of CheckpointProcess rejected with a hint for Checkpoint.
template <typename Options>
MResult<Options> parse(const VariantMap& map, std::string_view method,
                       const std::vector<BoolOption<Options>>& accepted,
                       const std::vector<std::string_view>& policy_only = {}) {
  Options options;
  for (const auto& [key, value] : map) {
    const BoolOption<Options>* match = nullptr;
    for (const auto& option : accepted) {
      if (option.key == key) {
        match = &option;
      }
    }
    if (match == nullptr) {
      for (const auto name : policy_only) {
        if (name == key) {
          return fail(ErrorCode::InvalidArgument,
                      "option {} is not accepted by {}: a job's policy decides it "
                      "(edit the job's YAML or use CheckpointProcess for an ad-hoc "
                      "checkpoint)",
                      key, method);
        }
      }
      std::vector<std::string_view> names;
      for (const auto& option : accepted) {
        names.push_back(option.key);
      }
      return fail(ErrorCode::InvalidArgument,
                  "unknown option {} for {}; valid options: {}", key, method,
                  fmt::join(names, ", "));
    }
    if (!value.template containsValueOfType<bool>()) {
      return fail(ErrorCode::InvalidArgument,
                  "option {} of {} must be a boolean (D-Bus type b), got type '{}'", key,
                  method, value.peekValueType());
    }
    options.*(match->field) = value.template get<bool>();
  }
  return options;
}

} // namespace

MResult<CheckpointOptions> checkpoint_options_from(const VariantMap& map,
                                                   CheckpointMethod method) {
  using O = CheckpointOptions;
  if (method == CheckpointMethod::Checkpoint) {
    return parse<O>(map, "Checkpoint",
                    {{"LeaveRunning", &O::leave_running}, {"Stream", &O::stream}},
                    {"ShellJob", "FileLocks", "TcpEstablished", "ExtUnixSk"});
  }
  return parse<O>(map, "CheckpointProcess",
                  {{"LeaveRunning", &O::leave_running},
                   {"Stream", &O::stream},
                   {"ShellJob", &O::shell_job},
                   {"FileLocks", &O::file_locks},
                   {"TcpEstablished", &O::tcp_established},
                   {"ExtUnixSk", &O::ext_unix_sk}});
}

MResult<RestoreOptions> restore_options_from(const VariantMap& map) {
  using O = RestoreOptions;
  // From and the registry's options apart from the boolean ones.
  VariantMap flags;
  VariantMap registry;
  std::optional<std::string> from;
  for (const auto& [key, value] : map) {
    if (key == "From") {
      if (!value.containsValueOfType<std::string>()) {
        return fail(ErrorCode::InvalidArgument,
                    "option From of Restore must be a string (D-Bus type s), got type "
                    "'{}'",
                    value.peekValueType());
      }
      from = value.get<std::string>();
    } else if (key == "Username" || key == "Password" || key == "CaPem" ||
               key == "PlainHttp") {
      registry.emplace(key, value);
    } else {
      flags.emplace(key, value);
    }
  }
  auto options = STASIS_TRY(parse<O>(flags, "Restore",
                                     {{"NewPidNamespace", &O::new_pid_namespace},
                                      {"Detached", &O::detached},
                                      {"Lazy", &O::lazy},
                                      {"TcpClose", &O::tcp_close}}));
  if (!from && !registry.empty()) {
    return fail(ErrorCode::InvalidArgument,
                "options {} of Restore go with From (a checkpoint in a registry)",
                registry.begin()->first);
  }
  if (from) {
    options.from = *from;
    options.remote = STASIS_TRY(method_remote_options(registry, "Restore"));
  }
  return options;
}

MResult<RemoteOptions> remote_options_from(const VariantMap& map, bool push) {
  return method_remote_options(map, push ? "Push" : "Pull");
}

MResult<RemoteOptions> method_remote_options(const VariantMap& map,
                                             std::string_view method) {
  RemoteOptions options;
  const bool push = method == "Push";
  for (const auto& [key, value] : map) {
    std::string* text = key == "Username"         ? &options.username
                        : key == "Password"       ? &options.password
                        : key == "CaPem"          ? &options.ca_pem
                        : key == "Origin" && push ? &options.origin
                                                  : nullptr;
    if (text != nullptr) {
      if (!value.containsValueOfType<std::string>()) {
        return fail(ErrorCode::InvalidArgument,
                    "option {} of {} must be a string (D-Bus type s), got type '{}'", key,
                    method, value.peekValueType());
      }
      *text = value.get<std::string>();
    } else if (key == "PlainHttp") {
      if (!value.containsValueOfType<bool>()) {
        return fail(ErrorCode::InvalidArgument,
                    "option {} of {} must be a boolean (D-Bus type b), got type '{}'",
                    key, method, value.peekValueType());
      }
      options.plain_http = value.get<bool>();
    } else {
      return fail(ErrorCode::InvalidArgument,
                  "unknown option {} for {}; valid options: {}", key, method,
                  push ? "Username, Password, CaPem, PlainHttp, Origin"
                       : "Username, Password, CaPem, PlainHttp");
    }
  }
  return options;
}

VariantMap to_variant_map(const RemoteOptions& options) {
  VariantMap map;
  if (!options.username.empty() || !options.password.empty()) {
    map.emplace("Username", options.username);
    map.emplace("Password", options.password);
  }
  if (!options.ca_pem.empty()) {
    map.emplace("CaPem", options.ca_pem);
  }
  if (options.plain_http) {
    map.emplace("PlainHttp", true);
  }
  if (!options.origin.empty()) {
    map.emplace("Origin", options.origin);
  }
  return map;
}

namespace {

void put(VariantMap& map, const std::string& key, const std::optional<bool>& value) {
  if (value) {
    map.emplace(key, *value);
  }
}

} // namespace

VariantMap to_variant_map(const CheckpointOptions& options) {
  VariantMap map;
  put(map, "LeaveRunning", options.leave_running);
  put(map, "Stream", options.stream);
  put(map, "ShellJob", options.shell_job);
  put(map, "FileLocks", options.file_locks);
  put(map, "TcpEstablished", options.tcp_established);
  put(map, "ExtUnixSk", options.ext_unix_sk);
  return map;
}

VariantMap to_variant_map(const RestoreOptions& options) {
  VariantMap map;
  if (!options.from.empty()) {
    map = to_variant_map(options.remote);
    map.erase("Origin");
    map.emplace("From", options.from);
  }
  put(map, "NewPidNamespace", options.new_pid_namespace);
  put(map, "Detached", options.detached);
  put(map, "Lazy", options.lazy);
  put(map, "TcpClose", options.tcp_close);
  return map;
}

} // namespace stasis::dbus
