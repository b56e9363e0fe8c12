// Keys of a job: target, schedule, incremental, retention, hooks, access and
// the job section itself.
#include "policy/keys.hpp"

namespace stasis::policy {

namespace {

using nlohmann::json;

KeySpec key(std::string name, ValuePtr value, json default_value, std::string doc,
            std::string origin = {}) {
  return KeySpec{
      std::move(name), std::move(value), std::move(default_value), std::move(doc),
      false,           std::move(origin)};
}

KeySpec required(std::string name, ValuePtr value, std::string doc,
                 std::string origin = {}) {
  return KeySpec{std::move(name),  std::move(value), nullptr, std::move(doc), true,
                 std::move(origin)};
}

ValuePtr user_names() {
  return spec::list(spec::string("^([a-z_][a-z0-9_.-]*\\$?|[0-9]+)$",
                                 "a user or group name or number"));
}

std::vector<KeySpec> schedule_keys() {
  using namespace spec;
  return {
      key("every", duration(), nullptr, "Checkpoint at this interval (e.g. 15m)."),
      key("calendar", calendar(), nullptr,
          "Checkpoint on this calendar event (systemd OnCalendar=, e.g. \"daily\", "
          "\"Mon..Fri *-*-* 02:00\")."),
      key("jitter", duration(), "0", "Random delay up to this long added to each run."),
      key("persistent", boolean(), false,
          "Catch up one run missed while stasisd was down (calendar schedules)."),
  };
}

std::vector<KeySpec> incremental_keys() {
  using namespace spec;
  return {
      key("mode", enumeration({"dedup", "criu-pre-dump", "full"}), "dedup",
          "dedup: every checkpoint is complete, unchanged data is stored once (works "
          "everywhere). criu-pre-dump: CRIU pre-dumps memory and the checkpoint only "
          "writes the pages dirtied since (needs soft-dirty tracking in the kernel, "
          "checked at run time). full: complete images, no parent.",
          "criu pre-dump/--track-mem/--prev-images-dir, --auto-dedup; runc --pre-dump, "
          "--parent-path, --auto-dedup"),
      key("new-chain-every", integer(1, 100000), 10,
          "Start a new image chain (no parent) after this many checkpoints."),
      key("pre-dump-mode", enumeration({"splice", "read"}), "splice",
          "How CRIU reads memory on pre-dump (read: process_vm_readv, less frozen time).",
          "criu --pre-dump-mode"),
  };
}

std::vector<KeySpec> retention_keys() {
  using namespace spec;
  auto count = [] { return integer(1, 1000000); };
  return {
      key("keep-last", count(), nullptr, "Keep the newest N checkpoints."),
      key("keep-hourly", count(), nullptr,
          "Keep the newest checkpoint of each of the last N hours that have one."),
      key("keep-daily", count(), nullptr,
          "Keep one checkpoint for each of the last N days that have one."),
      key("keep-weekly", count(), nullptr,
          "Keep one checkpoint for each of the last N weeks that have one."),
      key("keep-monthly", count(), nullptr,
          "Keep one checkpoint for each of the last N months that have one."),
      key("keep-yearly", count(), nullptr,
          "Keep one checkpoint for each of the last N years that have one."),
      key("keep-within", duration(), nullptr,
          "Keep every checkpoint taken within this duration of the newest one."),
      key("max-total-size", size(), nullptr,
          "After the rules above, drop the oldest kept checkpoints until the job's "
          "checkpoints fit in this size (the newest is always kept)."),
  };
}

std::vector<KeySpec> replicate_keys() {
  using namespace spec;
  return {
      key("to",
          string(k_registry_repository_pattern,
                 "HOST[:PORT]/REPOSITORY, e.g. registry.example.com/stasis/web (the host "
                 "contains a '.' or a ':' or is localhost)"),
          nullptr, "The OCI registry repository the job's checkpoints are copied to."),
      key("every", integer(1, 100000), 1, "Push every Nth checkpoint of the job."),
      key("on-demand", boolean(), true,
          "Also push checkpoints asked for over D-Bus, not only scheduled ones."),
      key("retention", section(retention_keys()), json::object(),
          "Which of this host's copies the registry keeps (as retention:); empty: all."),
      key("credentials", path(), nullptr,
          "A containers-auth.json(5) file (as podman and skopeo write it) holding the "
          "registry's credentials."),
      key("ca-file", path(), nullptr,
          "Extra CA certificates (PEM) trusted for the registry, besides the system's."),
      key("plain-http", boolean(), false,
          "Speak plain HTTP (a registry on loopback); default HTTPS."),
      key("origin", string("^[A-Za-z0-9_.]{1,32}$", "letters, digits, '_' and '.'"),
          nullptr,
          "This host's name in the tags (JOB-ORIGIN-ID); default: the host name."),
      key("retry-attempts", integer(0, 100), 5,
          "How many times a failed push is tried again."),
      key("retry-delay", duration(), "30s",
          "Wait before the first retry; doubled after each failure."),
      key("podman-image", boolean(), nullptr,
          "podman jobs: also push each checkpoint as podman's own checkpoint image "
          "(tag TAG.podman), which `podman container restore IMAGE` restores without "
          "stasis; default true for podman targets."),
  };
}

std::vector<KeySpec> access_keys() {
  using namespace spec;
  auto principals = section({
      key("users", user_names(), json::array(), "User names or uids."),
      key("groups", user_names(), json::array(), "Group names or gids."),
  });
  return {
      key("list", principals, json::object(),
          "May list and inspect the job's checkpoints."),
      key("checkpoint", principals, json::object(), "May start a checkpoint of the job."),
      key("restore", principals, json::object(), "May restore the job's checkpoints."),
      key("delete", principals, json::object(), "May delete the job's checkpoints."),
      key("export", principals, json::object(),
          "May take the job's checkpoints off the host (push, export): their "
          "images hold the processes' memory, which restore access never gives."),
  };
}

} // namespace

const std::vector<std::string>& hook_point_names() {
  static const std::vector<std::string> names = {"pre-dump",
                                                 "network-lock",
                                                 "post-dump",
                                                 "network-unlock",
                                                 "pre-restore",
                                                 "setup-namespaces",
                                                 "post-setup-namespaces",
                                                 "post-restore",
                                                 "pre-resume",
                                                 "post-resume",
                                                 "on-success",
                                                 "on-failure"};
  return names;
}

std::vector<KeySpec> hook_keys() {
  using namespace spec;
  auto command = section({
      required("run", argv(),
               "The command as a list: [\"/usr/bin/prog\", \"arg\"]. No shell is "
               "involved; write [\"/bin/sh\", \"-c\", \"...\"] to use one."),
      key("timeout", duration(), "1m", "Kill the command after this long."),
      key("user", string("^([a-z_][a-z0-9_.-]*\\$?|[0-9]+)$", "a user name or uid"),
          nullptr, "Run as this user (default root)."),
      key("group", string("^([a-z_][a-z0-9_.-]*\\$?|[0-9]+)$", "a group name or gid"),
          nullptr, "Run with this group (default: the user's)."),
      key("env", map(string()), json::object(),
          "Extra environment variables (STASIS_JOB, STASIS_HOOK, STASIS_PID are set)."),
      key("ignore-failure", boolean(), false,
          "Carry on when the command fails (default: a failing hook fails the run)."),
  });
  std::vector<KeySpec> keys;
  for (const auto& name : hook_point_names()) {
    keys.push_back(key(
        name, list(command), json::array(),
        name.starts_with("on-") ? std::string("Commands run after a run ") +
                                      (name == "on-success" ? "succeeded." : "failed.")
                                : "Commands run at CRIU's " + name + " action.",
        name.starts_with("on-") ? "" : "criu --action-script; lxc action scripts"));
  }
  return keys;
}

std::vector<KeySpec> job_keys() {
  using namespace spec;
  auto atomic = [](std::vector<KeySpec> keys, bool exactly_one) {
    return section(std::move(keys), exactly_one, true);
  };
  return {
      required("name",
               string(k_job_name_pattern,
                      "lower-case letters, digits, '-' and '_', starting with a "
                      "letter or digit, at most 63 characters"),
               "Unique name of the job across all policy files."),
      key("description", string(), nullptr, "What the job is for."),
      key("formerly", list(string(k_job_name_pattern, "a job name (as for name)"), 1),
          nullptr,
          "Names this job had before (a rename): the checkpoints stored under them are "
          "listed, restored and pruned as this job's, with this job's access and "
          "retention. No other job may have or have had these names; not one of the "
          "reserved names user-UID."),
      key("enabled", boolean(), true, "false: the job is loaded but never runs."),
      key("use", name_list(), nullptr,
          "Template name or list of names applied in order (later wins; the job's own "
          "keys win over all)."),
      // Required, but it may come from a template: checked after templates apply.
      key("target", atomic(target_keys(), true), nullptr,
          "What to checkpoint: exactly one key. Required (in the job or a template it "
          "uses)."),
      key("criu", section(criu_keys()), json::object(),
          "CRIU options for checkpoints (and restore where CRIU needs them on both)."),
      key("restore", section(restore_keys()), json::object(), "Restore-only options."),
      key("schedule", atomic(schedule_keys(), false), json::object(),
          "When to checkpoint; empty: on demand only."),
      key("incremental", section(incremental_keys()), json::object(),
          "How successive checkpoints share data."),
      key("retention", section(retention_keys()), json::object(),
          "Which checkpoints to keep (restic semantics); empty: keep everything."),
      key("replicate", section(replicate_keys()), json::object(),
          "Copies of the checkpoints in an OCI registry; empty: none."),
      key("hooks", section(hook_keys()), json::object(),
          "Commands run around the checkpoint and restore steps."),
      key("access", section(access_keys()), json::object(),
          "Who besides root may use this job over D-Bus."),
  };
}

} // namespace stasis::policy
