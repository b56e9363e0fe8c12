#include "policy/loader.hpp"

#include "policy/build.hpp"
#include "policy/file_parser.hpp"
#include "policy/fingerprint.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

namespace stasis::policy {

using nlohmann::json;

namespace {

struct TemplateEntry {
  const detail::ParsedTemplate* parsed;
};

void error_at(Diagnostics& diagnostics, const Location& at, std::string message) {
  diagnostics.push_back(Diagnostic{at.file, at.line, at.column, std::move(message)});
}

std::string where(const Location& at) {
  return fmt::format("{}:{}:{}", at.file, at.line, at.column);
}

// Applies defaults and templates to a job; returns false when a template is missing.
Fragment effective_fragment(const detail::ParsedFile& file, const detail::ParsedJob& job,
                            const std::map<std::string, TemplateEntry>& templates,
                            Diagnostics& diagnostics) {
  Fragment result;
  result.locations[""] = job.at;
  if (file.defaults) {
    merge_into(result, *file.defaults, *language().job);
  }
  if (job.fragment.value.contains("use")) {
    std::vector<std::string> names;
    for (const auto& entry : templates) {
      names.push_back(entry.first);
    }
    const json& uses = job.fragment.value["use"];
    for (std::size_t i = 0; i < uses.size(); ++i) {
      const std::string name = uses[i].get<std::string>();
      auto it = templates.find(name);
      if (it == templates.end()) {
        error_at(diagnostics, locate(job.fragment.locations, fmt::format("use[{}]", i)),
                 fmt::format("unknown template '{}'{}", name,
                             names.empty() ? std::string(" (no templates are defined)")
                                           : did_you_mean(name, names)));
        continue;
      }
      merge_into(result, it->second.parsed->fragment, *language().job);
    }
  }
  merge_into(result, job.fragment, *language().job);
  result.locations[""] = job.at;
  return result;
}

std::optional<Job> build_job(Fragment fragment, Diagnostics& diagnostics) {
  json& value = fragment.value;
  const Location at = fragment.locations[""];
  const std::string name =
      value.contains("name") ? value["name"].get<std::string>() : std::string();
  if (!value.contains("target")) {
    if (!fragment.locations.contains("target")) {
      error_at(
          diagnostics, at,
          fmt::format("{} has no 'target': give one of pid, pidfile, process, cgroup, "
                      "systemd-unit, runc, lxc, podman",
                      name.empty() ? std::string("the job") : "job '" + name + "'"));
    }
    return std::nullopt;
  }
  if (value["target"].size() != 1) {
    return std::nullopt; // reported by the walker
  }
  fill_defaults(value, *language().job);
  detail::JobContext context(fragment.locations, diagnostics);
  Job job;
  job.name = name;
  job.description =
      value.contains("description") ? value["description"].get<std::string>() : "";
  job.enabled = value.at("enabled").get<bool>();
  if (value.contains("use")) {
    job.templates = value["use"].get<std::vector<std::string>>();
  }
  if (value.contains("formerly")) {
    job.formerly = value["formerly"].get<std::vector<std::string>>();
  }
  job.target = detail::build_target(value["target"]);
  job.schedule = detail::build_schedule(value["schedule"], context);
  const bool scheduled = job.schedule.kind != Schedule::Kind::OnDemand;
  job.criu = detail::build_criu(value["criu"], scheduled);
  job.restore = detail::build_restore(value["restore"]);
  job.incremental = detail::build_incremental(value["incremental"]);
  job.retention = detail::build_retention(value["retention"]);
  job.replicate = detail::build_replicate(value["replicate"]);
  job.hooks = detail::build_hooks(value["hooks"], context);
  job.access = detail::build_access(value["access"]);
  job.source = SourceLocation{at.file, at.line, at.column};
  detail::check_job(job, value, context);
  value["criu"]["leave-running"] = job.criu.leave_running;
  job.fingerprint = fingerprint(value);
  return job;
}

// Checks every job's `formerly` against all jobs of the load: a former name
// is no job's name now, no other job's former name, not listed twice, not a
// reserved name, and a job lists at most k_max_former_names.
void check_former_names(const std::vector<detail::ParsedFile>& files,
                        const std::map<std::string, Location>& job_names,
                        Diagnostics& diagnostics) {
  // former name -> (the job that claims it, where)
  std::map<std::string, std::pair<std::string, Location>> claimed;
  for (const auto& file : files) {
    for (const auto& parsed : file.jobs) {
      const json& value = parsed.fragment.value;
      if (!value.contains("formerly") || !value["formerly"].is_array()) {
        continue; // absent, or reported by the walker
      }
      const std::string name =
          value.contains("name") ? value["name"].get<std::string>() : std::string();
      const json& formerly = value["formerly"];
      if (formerly.size() > k_max_former_names) {
        error_at(diagnostics, locate(parsed.fragment.locations, "formerly"),
                 fmt::format("job '{}' lists {} former names; at most {} are allowed",
                             name, formerly.size(), k_max_former_names));
      }
      for (std::size_t i = 0; i < formerly.size(); ++i) {
        if (!formerly[i].is_string()) {
          continue;
        }
        const std::string old = formerly[i].get<std::string>();
        const Location at =
            locate(parsed.fragment.locations, fmt::format("formerly[{}]", i));
        if (old.starts_with(k_reserved_job_prefix)) {
          error_at(diagnostics, at,
                   fmt::format("former name '{}' is reserved: names starting with '{}' "
                               "belong to the ad-hoc checkpoints of users, which no "
                               "policy job may take over",
                               old, k_reserved_job_prefix));
          continue;
        }
        if (old == name) {
          error_at(diagnostics, at,
                   fmt::format("former name '{}' is the job's own name", old));
          continue;
        }
        if (auto job = job_names.find(old); job != job_names.end()) {
          error_at(diagnostics, at,
                   fmt::format("former name '{}' is the name of the job defined at {}: "
                               "rename or remove that job first",
                               old, where(job->second)));
          continue;
        }
        auto [it, inserted] = claimed.emplace(old, std::make_pair(name, at));
        if (!inserted) {
          error_at(diagnostics, at,
                   fmt::format("former name '{}' is already claimed by job '{}' at {}",
                               old, it->second.first, where(it->second.second)));
        }
      }
    }
  }
}

} // namespace

Result<PolicySet, Diagnostics>
parse_policy_sources(const std::vector<PolicySource>& sources) {
  Diagnostics diagnostics;
  std::vector<detail::ParsedFile> files;
  files.reserve(sources.size());
  for (const auto& source : sources) {
    files.push_back(detail::parse_file(source, diagnostics));
  }
  std::map<std::string, TemplateEntry> templates;
  for (const auto& file : files) {
    for (const auto& parsed : file.templates) {
      auto [it, inserted] = templates.emplace(parsed.name, TemplateEntry{&parsed});
      if (!inserted) {
        error_at(diagnostics, parsed.at,
                 fmt::format("duplicate template '{}' (already defined at {})",
                             parsed.name, where(it->second.parsed->at)));
      }
    }
  }
  std::vector<Job> jobs;
  std::map<std::string, Location> job_names;
  for (const auto& file : files) {
    for (const auto& parsed : file.jobs) {
      if (parsed.fragment.value.contains("name")) {
        const std::string name = parsed.fragment.value["name"].get<std::string>();
        const Location at = locate(parsed.fragment.locations, "name");
        auto [it, inserted] = job_names.emplace(name, at);
        if (!inserted) {
          error_at(diagnostics, at,
                   fmt::format("duplicate job name '{}' (already defined at {})", name,
                               where(it->second)));
        }
        if (name.starts_with(k_reserved_job_prefix)) {
          error_at(diagnostics, at,
                   fmt::format("job name '{}' is reserved: names starting with '{}' "
                               "belong to the ad-hoc checkpoints of users (job user-UID "
                               "of `stasisctl checkpoint --pid`); rename the job",
                               name, k_reserved_job_prefix));
        }
      } else if (!parsed.fragment.locations.contains("name")) {
        error_at(diagnostics, parsed.at, "the job has no 'name'");
      }
      std::optional<Job> job;
      try {
        job = build_job(effective_fragment(file, parsed, templates, diagnostics),
                        diagnostics);
      } catch (const std::exception& e) {
        // Only reachable through a gap between the key table and the builders.
        error_at(diagnostics, parsed.at,
                 fmt::format("internal error in this job: {}", e.what()));
      }
      if (job) {
        jobs.push_back(std::move(*job));
      }
    }
  }
  check_former_names(files, job_names, diagnostics);
  if (!diagnostics.empty()) {
    sort_diagnostics(diagnostics);
    return Unexpected<Diagnostics>(std::move(diagnostics));
  }
  std::vector<std::string> names;
  for (const auto& source : sources) {
    names.push_back(source.filename);
  }
  return PolicySet(std::move(jobs), std::move(names));
}

Result<PolicySet, Diagnostics> parse_policy_text(std::string_view text,
                                                 const std::string& filename) {
  return parse_policy_sources({PolicySource{filename, std::string(text)}});
}

} // namespace stasis::policy
