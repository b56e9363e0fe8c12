#include "cli/json_output.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <sstream>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace stasis::cli {

using nlohmann::json;

json json_time(const std::optional<manager::TimePoint>& time) {
  if (!time) {
    return nullptr;
  }
  const std::time_t seconds = std::chrono::system_clock::to_time_t(*time);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(seconds));
}

json json_id(const std::string& id) {
  return id.empty() ? json(nullptr) : json(id);
}

json checkpoint_json(const std::string& job, const manager::CheckpointInfo& checkpoint) {
  // A damaged checkpoint's fields but id and pinned are unknown.
  const bool damaged = !checkpoint.problem.empty();
  auto known = [damaged](json value) { return damaged ? json(nullptr) : value; };
  return json{{"job", job},
              {"id", checkpoint.id},
              {"created", known(json_time(checkpoint.created))},
              {"previous", json_id(checkpoint.previous)},
              {"pinned", checkpoint.pinned},
              {"logical_bytes", known(checkpoint.logical_bytes)},
              {"stored_bytes", known(checkpoint.stored_bytes)},
              {"fingerprint", known(checkpoint.fingerprint)},
              {"criu_version", known(checkpoint.criu_version)},
              {"frozen_usec", known(checkpoint.frozen_usec)},
              {"damaged", damaged},
              {"problem", json_id(checkpoint.problem)},
              {"orphan", checkpoint.orphan},
              {"renamed_to", json_id(checkpoint.renamed_to)}};
}

manager::CheckpointInfo checkpoint_info(const store::CheckpointSummary& summary) {
  manager::CheckpointInfo info;
  info.id = std::to_string(summary.id);
  info.created = manager::TimePoint(summary.created);
  info.previous = summary.previous ? std::to_string(*summary.previous) : "";
  info.pinned = summary.pinned;
  info.logical_bytes = summary.logical_bytes;
  info.stored_bytes = summary.stored_bytes;
  info.fingerprint = summary.policy_fingerprint;
  info.criu_version = summary.criu_version;
  info.frozen_usec = summary.stats.frozen_usec;
  info.problem = summary.problem;
  return info;
}

json gc_json(std::uint64_t packs_deleted, std::uint64_t packs_repacked,
             std::uint64_t freed_bytes) {
  return json{{"packs_deleted", packs_deleted},
              {"packs_repacked", packs_repacked},
              {"freed_bytes", freed_bytes}};
}

namespace {

// Splits "a, b (c, d), e" at the ", " outside parentheses.
std::vector<std::string> split_reasons(std::string_view text) {
  std::vector<std::string> reasons;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')') {
      --depth;
    } else if (depth == 0 && text.substr(i, 2) == ", ") {
      reasons.emplace_back(text.substr(start, i - start));
      start = i + 2;
      ++i;
    }
  }
  if (start < text.size()) {
    reasons.emplace_back(text.substr(start));
  }
  return reasons;
}

} // namespace

std::optional<PruneDecision> parse_prune_line(const std::string& line) {
  const auto colon = line.find(": ");
  if (colon == std::string::npos || colon == 0) {
    return std::nullopt;
  }
  PruneDecision decision;
  decision.id = line.substr(0, colon);
  if (const auto slash = decision.id.find('/'); slash != std::string::npos) {
    decision.job = decision.id.substr(0, slash);
    decision.id.erase(0, slash + 1);
    if (decision.job.empty() || decision.id.empty()) {
      return std::nullopt;
    }
  }
  std::string_view rest(line);
  rest.remove_prefix(colon + 2);
  const auto space = rest.find(' ');
  const auto word = rest.substr(0, space);
  if (word == "keep") {
    decision.keep = true;
  } else if (word == "delete") {
    decision.keep = false;
  } else {
    return std::nullopt;
  }
  if (space != std::string_view::npos) {
    auto reasons = rest.substr(space + 1);
    if (reasons.size() < 2 || reasons.front() != '(' || reasons.back() != ')') {
      return std::nullopt;
    }
    decision.reasons = split_reasons(reasons.substr(1, reasons.size() - 2));
  }
  return decision;
}

std::vector<PruneDecision>
prune_decisions(const std::vector<store::PruneDecision>& decisions) {
  std::vector<PruneDecision> out;
  for (const auto& d : decisions) {
    out.push_back({std::to_string(d.id), d.keep, d.reasons, ""});
  }
  return out;
}

json prune_decision_json(const PruneDecision& decision, const std::string& job) {
  return json{{"job", decision.job.empty() ? job : decision.job},
              {"id", decision.id},
              {"decision", decision.keep ? "keep" : "delete"},
              {"reasons", decision.reasons}};
}

json prune_json(const std::string& job, bool dry_run,
                const std::vector<PruneDecision>& decisions, const json& gc) {
  json list = json::array();
  json deleted = json::array();
  for (const auto& decision : decisions) {
    list.push_back(prune_decision_json(decision, job));
    if (!decision.keep && !dry_run) {
      deleted.push_back(decision.job.empty() ? decision.id
                                             : decision.job + "/" + decision.id);
    }
  }
  return json{{"job", job},
              {"dry_run", dry_run},
              {"decisions", list},
              {"deleted", deleted},
              {"gc", gc}};
}

json engine_json(const EngineReport& report) {
  json criu{{"path", json_id(report.criu_path)},
            {"version", json_id(report.criu_version)}};
  if (!report.criu_error.empty()) {
    criu["error"] = report.criu_error;
  }
  json check = nullptr;
  if (report.check_ok) {
    check = {{"ok", *report.check_ok}};
    if (!report.check_error.empty()) {
      check["error"] = report.check_error;
    }
  }
  auto feature = [](const std::optional<EngineReport::Feature>& f) -> json {
    if (!f) {
      return nullptr;
    }
    return {{"available", f->available}, {"reason", json_id(f->reason)}};
  };
  json features{{"mem_track", feature(report.mem_track)},
                {"lazy_pages", feature(report.lazy_pages)}};
  if (!report.features_error.empty()) {
    features["error"] = report.features_error;
  }
  return json{{"kernel", report.kernel},
              {"criu", criu},
              {"check", check},
              {"features", features}};
}

EngineReport engine_report(const manager::EngineInfo& info) {
  EngineReport report;
  report.kernel = info.kernel;
  report.criu_path = info.criu_path;
  report.criu_version = info.criu_version;
  report.mem_track = EngineReport::Feature{info.mem_track, ""};
  report.lazy_pages = EngineReport::Feature{info.lazy_pages, ""};
  return report;
}

namespace {

// Parses `{a="x",b="y\"z"}` from text at pos (just after the name); moves
// pos past the closing brace. False when it is malformed.
bool parse_labels(const std::string& text, std::size_t& pos, json& labels) {
  ++pos; // '{'
  while (pos < text.size() && text[pos] != '}') {
    const auto eq = text.find('=', pos);
    if (eq == std::string::npos || eq + 1 >= text.size() || text[eq + 1] != '"') {
      return false;
    }
    const std::string key = text.substr(pos, eq - pos);
    std::string value;
    pos = eq + 2;
    while (pos < text.size() && text[pos] != '"') {
      if (text[pos] == '\\' && pos + 1 < text.size()) {
        ++pos;
        value += text[pos] == 'n' ? '\n' : text[pos];
      } else {
        value += text[pos];
      }
      ++pos;
    }
    if (pos >= text.size()) {
      return false;
    }
    ++pos; // closing quote
    labels[key] = value;
    if (pos < text.size() && text[pos] == ',') {
      ++pos;
    }
  }
  if (pos >= text.size()) {
    return false;
  }
  ++pos; // '}'
  return true;
}

} // namespace

json metrics_json(const std::string& text) {
  json metrics = json::array();
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line.front() == '#') {
      continue;
    }
    std::size_t pos = line.find_first_of("{ ");
    if (pos == std::string::npos) {
      continue;
    }
    json sample{{"name", line.substr(0, pos)}, {"labels", json::object()}};
    if (line[pos] == '{' && !parse_labels(line, pos, sample["labels"])) {
      continue;
    }
    const auto value_at = line.find_first_not_of(' ', pos);
    const std::string value = value_at == std::string::npos ? "" : line.substr(value_at);
    char* end = nullptr;
    const double number = std::strtod(value.c_str(), &end);
    if (end == value.c_str()) {
      continue;
    }
    // Counters and gauges that hold whole numbers stay integers.
    if (number == std::floor(number) && std::fabs(number) < 9.0e15) {
      sample["value"] = static_cast<std::int64_t>(number);
    } else if (std::isfinite(number)) {
      sample["value"] = number;
    } else {
      sample["value"] = nullptr; // NaN, +Inf: not JSON numbers
    }
    metrics.push_back(std::move(sample));
  }
  return json{{"metrics", metrics}};
}

} // namespace stasis::cli
