// Targets and the small sections (incremental, retention, access).
#include "policy/build.hpp"
#include "policy/duration.hpp"

namespace stasis::policy::detail {

using nlohmann::json;

std::string text(const json& object, const char* key) {
  return object.contains(key) ? object[key].get<std::string>() : std::string();
}

std::vector<std::string> strings(const json& object, const char* key) {
  return object.contains(key) ? object[key].get<std::vector<std::string>>()
                              : std::vector<std::string>();
}

namespace {

Principals principals(const json& object, const char* key) {
  if (!object.contains(key)) {
    return {};
  }
  return Principals{strings(object[key], "users"), strings(object[key], "groups")};
}

} // namespace

std::chrono::milliseconds duration_of(const json& value) {
  auto parsed = parse_duration(value.get<std::string>());
  return parsed ? *parsed : std::chrono::milliseconds(0);
}

Target build_target(const json& target) {
  if (target.contains("pid")) {
    return PidTarget{target["pid"].get<int>()};
  }
  if (target.contains("pidfile")) {
    return PidFileTarget{target["pidfile"].get<std::string>()};
  }
  if (target.contains("process")) {
    const json& p = target["process"];
    return ProcessTarget{text(p, "exe"), text(p, "cmdline"), text(p, "user")};
  }
  if (target.contains("cgroup")) {
    return CgroupTarget{target["cgroup"].get<std::string>()};
  }
  if (target.contains("systemd-unit")) {
    return SystemdUnitTarget{target["systemd-unit"].get<std::string>()};
  }
  if (target.contains("runc")) {
    const json& r = target["runc"];
    return RuncTarget{text(r, "id"), text(r, "root"), text(r, "bundle")};
  }
  if (target.contains("lxc")) {
    const json& l = target["lxc"];
    return LxcTarget{text(l, "name"), text(l, "lxcpath"), text(l, "rcfile")};
  }
  return PodmanTarget{text(target, "podman")};
}

IncrementalSettings build_incremental(const json& incremental) {
  IncrementalSettings settings;
  const std::string mode = incremental.at("mode").get<std::string>();
  settings.mode = mode == "criu-pre-dump" ? IncrementalSettings::Mode::CriuPreDump
                  : mode == "full"        ? IncrementalSettings::Mode::Full
                                          : IncrementalSettings::Mode::Dedup;
  settings.new_chain_every = incremental.at("new-chain-every").get<unsigned>();
  settings.pre_dump_mode = incremental.at("pre-dump-mode").get<std::string>() == "read"
                               ? IncrementalSettings::PreDumpMode::Read
                               : IncrementalSettings::PreDumpMode::Splice;
  return settings;
}

RetentionRules build_retention(const json& retention) {
  RetentionRules rules;
  auto count = [&](const char* key, std::optional<unsigned>& field) {
    if (retention.contains(key)) {
      field = retention[key].get<unsigned>();
    }
  };
  count("keep-last", rules.keep_last);
  count("keep-hourly", rules.keep_hourly);
  count("keep-daily", rules.keep_daily);
  count("keep-weekly", rules.keep_weekly);
  count("keep-monthly", rules.keep_monthly);
  count("keep-yearly", rules.keep_yearly);
  if (retention.contains("keep-within")) {
    rules.keep_within = duration_of(retention["keep-within"]);
  }
  if (retention.contains("max-total-size")) {
    rules.max_total_size = retention["max-total-size"].get<std::uint64_t>();
  }
  return rules;
}

ReplicateSettings build_replicate(const json& replicate) {
  ReplicateSettings settings;
  auto text = [&](const char* key) {
    return replicate.contains(key) ? replicate[key].get<std::string>() : std::string();
  };
  settings.to = text("to");
  settings.every = replicate.at("every").get<unsigned>();
  settings.on_demand = replicate.at("on-demand").get<bool>();
  settings.retention = build_retention(replicate.at("retention"));
  settings.credentials = text("credentials");
  settings.ca_file = text("ca-file");
  settings.plain_http = replicate.at("plain-http").get<bool>();
  settings.origin = text("origin");
  settings.retry_attempts = replicate.at("retry-attempts").get<unsigned>();
  settings.retry_delay = duration_of(replicate.at("retry-delay"));
  if (replicate.contains("podman-image")) {
    settings.podman_image = replicate["podman-image"].get<bool>();
  }
  return settings;
}

Access build_access(const json& access) {
  Access result;
  result.list = principals(access, "list");
  result.checkpoint = principals(access, "checkpoint");
  result.restore = principals(access, "restore");
  result.remove = principals(access, "delete");
  result.exporting = principals(access, "export");
  return result;
}

} // namespace stasis::policy::detail
