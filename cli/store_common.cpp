#include "cli/store_common.hpp"

#include <ctime>

#include <fmt/format.h>

namespace stasis::cli::store_cmd {
std::string human(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string time_text(std::chrono::sys_seconds t) {
  std::time_t tt = t.time_since_epoch().count();
  std::tm tm{};
  ::localtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

json to_json(const st::CheckpointSummary& s) {
  return {{"job", s.job},
          {"id", s.id},
          {"previous", s.previous ? json(*s.previous) : json(nullptr)},
          {"created", s.created.time_since_epoch().count()},
          {"pinned", s.pinned},
          {"logical_bytes", s.logical_bytes},
          {"stored_bytes", s.stored_bytes},
          {"files", s.files},
          {"policy_fingerprint", s.policy_fingerprint},
          {"criu_version", s.criu_version},
          {"imported_from", s.imported_from},
          {"frozen_usec", s.stats.frozen_usec},
          {"damaged", s.damaged()},
          {"problem", s.problem}};
}

json to_json(const std::vector<st::DamagedCheckpoint>& damaged) {
  json out = json::array();
  for (const auto& d : damaged) {
    out.push_back(
        {{"job", d.job}, {"id", d.id}, {"files", d.files}, {"problems", d.problems}});
  }
  return out;
}

json to_json(const st::GcReport& r) {
  return {{"packs_deleted", r.packs_deleted},
          {"packs_repacked", r.packs_repacked},
          {"bytes_freed", r.bytes_freed}};
}

void print_damaged(const std::vector<st::DamagedCheckpoint>& damaged) {
  for (const auto& d : damaged) {
    std::string files;
    for (const auto& f : d.files) {
      files += (files.empty() ? "" : ", ") + f;
    }
    std::cout << "DAMAGED " << d.job << "/" << d.id << ": " << files << "\n";
    for (const auto& p : d.problems) {
      std::cout << "  " << p << "\n";
    }
  }
}

CLI::App* command(CLI::App& app, const std::string& name, const std::string& help,
                  StoreArgs& args, bool hidden) {
  auto* sub = app.add_subcommand(name, help);
  sub->add_option("--state-dir", args.state_dir,
                  "Open this state directory directly (root, no daemon; default "
                  "/var/lib/stasis). Without it, checkpoints, show, delete, pin, "
                  "unpin, prune and verify ask stasisd");
  if (hidden) {
    sub->group("");
  }
  return sub;
}

// True when the command goes through stasisd: no --state-dir on its command line.
bool asks_daemon(CLI::App* sub) {
  return sub->get_option("--state-dir")->count() == 0;
}

void add_job_id(CLI::App* sub, StoreArgs& args) {
  sub->add_option("JOB", args.job, "Job name")->required();
  sub->add_option("ID", args.id, "Checkpoint id")->required();
}

} // namespace stasis::cli::store_cmd
