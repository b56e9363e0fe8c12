// Rules that span several keys: conflicting options and prerequisites.
#include "policy/build.hpp"
#include "policy/pattern.hpp"

#include <fmt/format.h>

namespace stasis::policy::detail {

using nlohmann::json;
using namespace std::chrono_literals;

void JobContext::error(const std::string& path, std::string message) {
  const Location at = locate(m_locations, path);
  m_diagnostics.push_back(Diagnostic{at.file, at.line, at.column, std::move(message)});
}

SourceLocation JobContext::where(const std::string& path) const {
  const Location at = locate(m_locations, path);
  return SourceLocation{at.file, at.line, at.column};
}

namespace {

void check_criu(const Job& job, JobContext& context) {
  const CriuSettings& c = job.criu;
  if (c.leave_running && c.leave_stopped) {
    context.error(
        "criu.leave-stopped",
        "'criu.leave-stopped' conflicts with 'criu.leave-running': the tree cannot "
        "be left both running and stopped; set one of them to false");
  }
  if (c.tcp_established && c.tcp_close) {
    context.error("criu.tcp-close",
                  "'criu.tcp-close' conflicts with 'criu.tcp-established': either save "
                  "established connections or do not; to save them and restore them "
                  "closed, set 'restore.tcp-close: true' instead of 'criu.tcp-close'");
  }
  if (c.lazy_pages && !c.page_server) {
    context.error("criu.lazy-pages",
                  "'criu.lazy-pages' needs 'criu.page-server' (the address and port the "
                  "restoring side fetches the pages from)");
  }
  if (c.stream_pages && c.page_server) {
    context.error("criu.stream-pages",
                  "'criu.stream-pages' conflicts with 'criu.page-server': the pages go "
                  "either into the store or to another host's page server");
  }
  if (c.stream_pages && job.incremental.mode == IncrementalSettings::Mode::CriuPreDump) {
    context.error(
        "criu.stream-pages",
        "'criu.stream-pages' works with 'incremental.mode: dedup' or 'full': a "
        "streamed checkpoint is complete in the store and has no pre-dump parent");
  }
  if (c.timeout < 1s || c.timeout % 1s != 0ms) {
    context.error("criu.timeout",
                  "'criu.timeout' must be a whole number of seconds, at least 1s (CRIU "
                  "counts seconds)");
  }
  const RestoreSettings& r = job.restore;
  if (c.tcp_close && r.tcp_close == false) {
    context.error("restore.tcp-close",
                  "'restore.tcp-close: false' cannot restore a checkpoint taken with "
                  "'criu.tcp-close: true': its connections were not saved (CRIU needs "
                  "--tcp-close on restore too); remove 'restore.tcp-close'");
  }
  if (c.manage_cgroups == CgroupMode::Ignore) {
    for (const char* key :
         {"criu.cgroup-root", "criu.cgroup-props", "criu.cgroup-props-file"}) {
      if (context.written(key)) {
        context.error(key, fmt::format("'{}' has no effect with 'criu.manage-cgroups: "
                                       "ignore'; choose another mode or remove it",
                                       key));
      }
    }
  }
  if (r.manage_cgroups.value_or(c.manage_cgroups) == CgroupMode::Ignore &&
      context.written("restore.cgroup-root")) {
    const char* mode_key =
        r.manage_cgroups ? "restore.manage-cgroups" : "criu.manage-cgroups";
    context.error("restore.cgroup-root",
                  fmt::format("'restore.cgroup-root' has no effect with '{}: ignore'; "
                              "choose another mode or remove it",
                              mode_key));
  }
  if (r.sibling && !r.detached) {
    context.error(
        "restore.sibling",
        "'restore.sibling' needs 'restore.detached: true' (CRIU restores the root "
        "task as a sibling only when it detaches)");
  }
  for (const char* key :
       {"restore.enable-external-sharing", "restore.enable-external-masters"}) {
    if (context.written(key) && !r.ext_mount_auto &&
        (key == std::string("restore.enable-external-sharing")
             ? r.enable_external_sharing
             : r.enable_external_masters)) {
      context.error(
          key, fmt::format("'{}' works only with 'restore.ext-mount-auto: true'", key));
    }
  }
  if ((!r.ext_mount_map.empty() || r.ext_mount_auto) && is_container(job.target) &&
      r.root.empty()) {
    const char* key =
        r.ext_mount_map.empty() ? "restore.ext-mount-auto" : "restore.ext-mount-map";
    context.error(key, fmt::format("'{}' on a container (its own mount namespace) needs "
                                   "'restore.root' (the container's root file system): "
                                   "CRIU 4.2 crashes without it",
                                   key));
  }
}

void check_schedule(const Job& job, const json& effective, JobContext& context) {
  const json& s = effective.at("schedule");
  if (s.contains("every") && s.contains("calendar")) {
    context.error("schedule.calendar",
                  "'schedule' gives both 'every' and 'calendar': choose one");
  }
  if (s.contains("every") && job.schedule.every <= 0ms) {
    context.error("schedule.every", "'schedule.every' must be longer than 0");
  }
  if (job.schedule.kind == Schedule::Kind::OnDemand) {
    for (const char* key : {"schedule.jitter", "schedule.persistent"}) {
      if (context.written(key)) {
        context.error(key,
                      fmt::format("'{}' needs 'schedule.every' or 'schedule.calendar' "
                                  "(an on-demand job has no runs to delay or catch up)",
                                  key));
      }
    }
  }
  if (job.schedule.kind == Schedule::Kind::Every && job.schedule.every > 0ms &&
      job.schedule.jitter >= job.schedule.every) {
    context.error("schedule.jitter",
                  "'schedule.jitter' must be shorter than 'schedule.every'");
  }
}

void check_other(const Job& job, const json& effective, JobContext& context) {
  if (const auto* process = std::get_if<ProcessTarget>(&job.target);
      process != nullptr && !context.written("target.process.exe") &&
      !context.written("target.process.cmdline")) {
    context.error(
        "target.process",
        "'target.process' needs 'exe' or 'cmdline' (a pattern to find the process)");
  }
  if (job.incremental.mode != IncrementalSettings::Mode::CriuPreDump &&
      context.written("incremental.pre-dump-mode")) {
    context.error("incremental.pre-dump-mode",
                  "'incremental.pre-dump-mode' works only with 'incremental.mode: "
                  "criu-pre-dump'");
  }
  const json& retention = effective.at("retention");
  if (retention.contains("keep-within") && job.retention.keep_within &&
      *job.retention.keep_within <= 0ms) {
    context.error("retention.keep-within",
                  "'retention.keep-within' must be longer than 0");
  }
  if (job.retention.max_total_size && *job.retention.max_total_size == 0) {
    context.error("retention.max-total-size",
                  "'retention.max-total-size' must be above 0");
  }
  if (!job.replicate.enabled()) {
    for (const char* key :
         {"every", "on-demand", "retention", "credentials", "ca-file", "plain-http",
          "origin", "retry-attempts", "retry-delay", "podman-image"}) {
      if (context.written(std::string("replicate.") + key)) {
        context.error(std::string("replicate.") + key,
                      fmt::format("'replicate.{}' needs 'replicate.to' (the registry "
                                  "repository to push to)",
                                  key));
      }
    }
  }
  if (job.replicate.podman_image && *job.replicate.podman_image &&
      !std::holds_alternative<PodmanTarget>(job.target)) {
    context.error(
        "replicate.podman-image",
        "'replicate.podman-image' is for podman targets (target: podman: NAME)");
  }
  if (job.replicate.retry_delay <= 0ms && job.replicate.retry_attempts > 0) {
    context.error("replicate.retry-delay",
                  "'replicate.retry-delay' must be longer than 0");
  }
  static const Pattern env_name = *Pattern::compile("^[A-Za-z_][A-Za-z0-9_]*$");
  for (const auto& [point, commands] : job.hooks.commands) {
    for (std::size_t i = 0; i < commands.size(); ++i) {
      const std::string path = fmt::format("hooks.{}[{}]", to_string(point), i);
      if (commands[i].timeout <= 0ms) {
        context.error(path + ".timeout",
                      fmt::format("'{}.timeout' must be longer than 0", path));
      }
      for (const auto& [name, value] : commands[i].env) {
        if (!env_name.full_match(name) || name.starts_with("STASIS_")) {
          context.error(
              path + ".env[" + name + "]",
              fmt::format("'{}.env' cannot set '{}': names are letters, digits and "
                          "'_', and STASIS_* are set by stasis",
                          path, name));
        }
      }
    }
  }
}

} // namespace

void check_job(const Job& job, const json& effective, JobContext& context) {
  check_criu(job, context);
  check_schedule(job, effective, context);
  check_other(job, effective, context);
}

} // namespace stasis::policy::detail
