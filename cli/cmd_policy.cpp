// `stasisctl validate` and `stasisctl schema`: offline policy tools (no
// daemon, no root).
#include "cli/commands.hpp"
#include "policy/loader.hpp"
#include "policy/schema.hpp"

#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

namespace stasis::cli {

namespace {

using nlohmann::json;

json diagnostics_json(const policy::Diagnostics& diagnostics) {
  json errors = json::array();
  for (const auto& d : diagnostics) {
    errors.push_back({{"file", d.file},
                      {"line", d.line},
                      {"column", d.column},
                      {"message", d.message}});
  }
  return errors;
}

json jobs_json(const policy::PolicySet& set) {
  json jobs = json::array();
  for (const auto& job : set.jobs()) {
    jobs.push_back({{"name", job.name},
                    {"file", job.source.file},
                    {"line", job.source.line},
                    {"target", policy::describe(job.target)},
                    {"target_kind", std::string(policy::target_kind(job.target))},
                    {"schedule", policy::describe(job.schedule)},
                    {"retention", policy::describe(job.retention)},
                    {"enabled", job.enabled},
                    {"replicate", job.replicate.to},
                    {"fingerprint", job.fingerprint}});
  }
  return jobs;
}

int validate(const std::vector<std::string>& paths, bool as_json, bool quiet) {
  std::vector<std::filesystem::path> inputs(paths.begin(), paths.end());
  auto result = policy::load_policy_paths(inputs);
  if (as_json) {
    json out = {{"valid", result.has_value()},
                {"errors", result ? json::array() : diagnostics_json(result.error())},
                {"jobs", result ? jobs_json(*result) : json::array()}};
    std::cout << out.dump(2) << '\n';
  }
  if (!result) {
    for (const auto& d : result.error()) {
      std::cerr << d.to_string() << '\n';
    }
    std::cerr << result.error().size()
              << (result.error().size() == 1 ? " error" : " errors") << '\n';
    return 1;
  }
  if (!as_json && !quiet) {
    for (const auto& job : result->jobs()) {
      std::cout << job.name << ": " << policy::describe(job.target) << "; "
                << policy::describe(job.schedule) << "; "
                << policy::describe(job.retention)
                << (job.replicate.enabled() ? "; replicated to " + job.replicate.to : "")
                << '\n';
    }
    std::cout << result->jobs().size() << " jobs in " << result->files().size()
              << " files: valid\n";
  }
  return 0;
}

} // namespace

void register_policy_commands(CLI::App& app, GlobalOptions& options) {
  auto* validate_cmd = app.add_subcommand(
      "validate", "Check policy files or directories (no daemon, no root needed)");
  auto paths = std::make_shared<std::vector<std::string>>();
  validate_cmd->add_option("paths", *paths, "Policy files or directories")->required();
  validate_cmd->callback([&options, paths] {
    options.exit_code = validate(*paths, options.json, options.quiet);
  });

  auto* schema_cmd =
      app.add_subcommand("schema", "Print the JSON Schema of policy files (for editors)");
  auto format = std::make_shared<std::string>("json");
  schema_cmd
      ->add_option("--format", *format, "json (default) or asciidoc (man page keys)")
      ->check(CLI::IsMember({"json", "asciidoc"}));
  schema_cmd->callback([&options, format] {
    if (*format == "asciidoc") {
      std::cout << policy::key_reference_asciidoc();
    } else {
      std::cout << policy::json_schema().dump(2) << '\n';
    }
    options.exit_code = 0;
  });
}

} // namespace stasis::cli
