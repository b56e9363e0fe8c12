// Checkpoints that outlived their job's name: orphans (jobs of the store no
// policy names any more, after a policy file was removed) and the former
// names of renamed jobs (policy key `formerly`).
//
// An orphan has no access list, so only root lists, restores, deletes and
// prunes its checkpoints; ad-hoc jobs "user-UID" are never orphans (they are
// known from the store at start, and belong to their uid). A former name acts
// as its new job, with that job's settings and access.
#include "manager/manager.hpp"
#include "policy/duration.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/ranges.h>

namespace stasis::manager {
namespace {

// The targets whose checkpoints only their runtime restores (the manifest's
// target names them as policy::describe does).
constexpr std::string_view k_container_targets[] = {"runc container ", "lxc container ",
                                                    "podman container "};

bool is_container_target(const std::string& described) {
  for (auto prefix : k_container_targets) {
    if (described.starts_with(prefix)) {
      return true;
    }
  }
  return false;
}

} // namespace

Result<policy::RetentionRules> parse_orphan_retention(const std::string& text) {
  policy::RetentionRules rules;
  if (text == "keep-all") {
    return rules;
  }
  constexpr std::string_view last = "keep-last:";
  constexpr std::string_view within = "keep-within:";
  if (text.starts_with(last)) {
    unsigned count = 0;
    const char* begin = text.data() + last.size();
    const char* end = text.data() + text.size();
    auto [at, error] = std::from_chars(begin, end, count);
    if (begin == end || error != std::errc() || at != end || count == 0 ||
        count > k_max_orphan_keep_last) {
      return make_error("'{}': keep-last:N needs N from 1 to {}", text,
                        k_max_orphan_keep_last);
    }
    rules.keep_last = count;
    return rules;
  }
  if (text.starts_with(within)) {
    auto duration = policy::parse_duration(text.substr(within.size()));
    if (!duration) {
      return make_error("'{}': {}", text, duration.error().message);
    }
    if (duration->count() <= 0) {
      return make_error("'{}': keep-within needs a duration above 0", text);
    }
    rules.keep_within = *duration;
    return rules;
  }
  return make_error("'{}' is not keep-all, keep-last:N or keep-within:DURATION (e.g. "
                    "keep-within:30d)",
                    text);
}

std::optional<Manager::JobEntry>
Manager::former_name_entry(const std::string& job) const {
  // The new job's settings and access, under the old name (which the store
  // and history know its checkpoints by).
  auto renamed = m_former_names.find(job);
  if (renamed == m_former_names.end()) {
    return std::nullopt;
  }
  auto now = m_jobs.find(renamed->second);
  if (now == m_jobs.end()) {
    return std::nullopt;
  }
  auto copy = std::make_shared<policy::Job>(*now->second.job);
  copy->name = job;
  copy->formerly.clear();
  JobEntry entry = now->second;
  entry.job = std::move(copy);
  entry.renamed_to = renamed->second;
  return entry;
}

MResult<void> Manager::check_new_checkpoint_allowed(const JobEntry& entry) const {
  const std::string& job = entry.job->name;
  if (!entry.renamed_to.empty()) {
    return fail(ErrorCode::InvalidArgument,
                "job '{}' was renamed to '{}' (its policy says formerly: [{}]): its "
                "checkpoints stay listed, restorable and pruned under the old name; new "
                "ones are taken as '{}'",
                job, entry.renamed_to, job, entry.renamed_to);
  }
  if (entry.orphan) {
    return fail(ErrorCode::InvalidArgument,
                "no policy names job '{}' any more: its checkpoints stay listed "
                "(checkpoints --all), restorable, deletable and prunable, but new ones "
                "need a policy job",
                job);
  }
  return {};
}

std::optional<Manager::JobEntry> Manager::orphan_job(const std::string& job) const {
  if (adhoc_uid(job) || find_job(job)) {
    return std::nullopt; // a user's ad-hoc job, or a job (or a former name)
  }
  auto jobs = m_store.jobs();
  if (!jobs || std::find(jobs->begin(), jobs->end(), job) == jobs->end()) {
    return std::nullopt;
  }
  // The defaults of a policy job, with no access list (root only).
  auto orphan = std::make_shared<policy::Job>();
  orphan->name = job;
  orphan->description = "checkpoints of a job no policy names any more";
  orphan->target = policy::PidTarget{0};
  orphan->retention = m_config.orphan_retention;
  orphan->fingerprint = "orphan";
  return JobEntry{std::move(orphan), false, "", true, ""};
}

MResult<void> Manager::check_orphan_restorable(const JobEntry& entry,
                                               std::uint64_t id) const {
  if (!entry.orphan) {
    return {};
  }
  auto manifest = m_store.get(entry.job->name, id);
  if (!manifest) {
    return fail(ErrorCode::StoreFailed, "{}", manifest.error().message);
  }
  if (is_container_target(manifest->target)) {
    return fail(ErrorCode::InvalidArgument,
                "checkpoint {} of job '{}' is of a container ({}), which only its "
                "runtime restores with the settings of the job's policy, and no policy "
                "names job '{}' any more: add a job with that container target and "
                "`formerly: [{}]` to restore it",
                id, entry.job->name, manifest->target, entry.job->name, entry.job->name);
  }
  return {};
}

MResult<std::vector<CheckpointInfo>> Manager::list_all_checkpoints(const Caller& caller) {
  auto jobs = m_store.jobs();
  if (!jobs) {
    return fail(ErrorCode::StoreFailed, "{}", jobs.error().message);
  }
  std::vector<CheckpointInfo> checkpoints;
  for (const auto& name : *jobs) {
    auto entry = find_job(name);
    if (entry ? !may(caller, Action::List, entry->job->access) : !caller.is_root()) {
      continue; // not the caller's to list; an orphan is root's alone
    }
    auto summaries = m_store.list(name);
    if (!summaries) {
      return fail(ErrorCode::StoreFailed, "{}", summaries.error().message);
    }
    for (const auto& summary : *summaries) {
      auto info = checkpoint_info(summary);
      info.orphan = !entry;
      info.renamed_to = entry ? entry->renamed_to : "";
      checkpoints.push_back(std::move(info));
    }
  }
  return checkpoints;
}

void Manager::apply_orphan_retention() {
  const auto& rules = m_config.orphan_retention;
  if (rules.empty()) {
    return; // keep-all: nothing is deleted without an admin asking
  }
  auto logger = log::get("manager");
  auto jobs = m_store.jobs();
  if (!jobs) {
    logger->error("orphan retention: cannot list the store's jobs: {}",
                  jobs.error().message);
    return;
  }
  for (const auto& name : *jobs) {
    if (adhoc_uid(name) || find_job(name)) {
      continue;
    }
    auto report = m_store.prune(name, rules, false);
    if (!report) {
      logger->error("orphan retention of job {} failed: {}", name,
                    report.error().message);
      continue;
    }
    if (!report->deleted.empty()) {
      logger->info("orphan retention ({}) deleted checkpoint(s) {} of job {}, which no "
                   "policy names",
                   policy::describe(rules), fmt::join(report->deleted, ", "), name);
      emit(CheckpointsChangedEvent{name});
    }
  }
}

std::vector<std::string> Manager::prune_former_names(const policy::Job& job,
                                                     bool dry_run) {
  std::vector<std::string> lines;
  auto jobs = m_store.jobs();
  if (!jobs) {
    return lines;
  }
  for (const auto& old : job.formerly) {
    if (std::find(jobs->begin(), jobs->end(), old) == jobs->end()) {
      continue;
    }
    {
      std::lock_guard lock(m_mutex);
      if (m_jobs.contains(old)) {
        continue; // a job kept from a file left out still has the name
      }
    }
    auto report = m_store.prune(old, job.retention, dry_run);
    if (!report) {
      lines.push_back(
          fmt::format("{}: retention failed: {}", old, report.error().message));
      continue;
    }
    for (const auto& decision : report->decisions) {
      lines.push_back(fmt::format("{}/{}: {} ({})", old, decision.id,
                                  decision.keep ? "keep" : "delete",
                                  fmt::join(decision.reasons, ", ")));
    }
    if (!dry_run && !report->deleted.empty()) {
      log::get("manager")->info(
          "retention of job {} ({}) deleted checkpoint(s) {} of its "
          "former name {}",
          job.name, policy::describe(job.retention), fmt::join(report->deleted, ", "),
          old);
      emit(CheckpointsChangedEvent{old});
    }
  }
  return lines;
}

} // namespace stasis::manager
