#include "cli/store_common.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <sys/stat.h>

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
  return checkpoint_json(s.job, checkpoint_info(s));
}

json to_json(const std::vector<st::DamagedCheckpoint>& damaged) {
  json out = json::array();
  for (const auto& d : damaged) {
    out.push_back({{"job", d.job},
                   {"id", std::to_string(d.id)},
                   {"files", d.files},
                   {"problems", d.problems}});
  }
  return out;
}

std::vector<std::string> problems_of(const std::vector<st::DamagedCheckpoint>& damaged) {
  std::vector<std::string> problems;
  for (const auto& d : damaged) {
    for (const auto& problem : d.problems) {
      problems.push_back(fmt::format("checkpoint {}: {}", d.id, problem));
    }
  }
  return problems;
}

json to_json(const st::GcReport& r) {
  return gc_json(r.packs_deleted, r.packs_repacked, r.bytes_freed);
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

Result<st::Store> open_store(const StoreArgs& args, StoreOpen mode) {
  if (mode == StoreOpen::Existing) {
    // What Store::open would create: the dir and its packs/ and jobs/.
    const std::filesystem::path dir(args.state_dir);
    for (const auto& path : {dir, dir / "packs", dir / "jobs"}) {
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        return make_error("no checkpoint store in {} ({}: {}); this command creates "
                          "none: is --state-dir right?",
                          args.state_dir, path.string(), std::strerror(errno));
      }
      if (!S_ISDIR(st.st_mode)) {
        return make_error("no checkpoint store in {}: {} is not a directory",
                          args.state_dir, path.string());
      }
    }
  }
  return st::Store::open(args.state_dir);
}

bool is_checkpoint_id(std::string_view text) {
  return text == k_latest ||
         (!text.empty() && std::all_of(text.begin(), text.end(),
                                       [](char c) { return c >= '0' && c <= '9'; }));
}

Result<std::uint64_t> resolve_id(const st::Store& store, const std::string& job,
                                 const std::string& text) {
  if (text == k_latest) {
    auto items = STASIS_TRY(store.list(job));
    if (items.empty()) {
      return make_error("job '{}' has no checkpoints", job);
    }
    return std::max_element(items.begin(), items.end(),
                            [](const auto& a, const auto& b) { return a.id < b.id; })
        ->id;
  }
  std::uint64_t id = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return make_error("'{}' is not a checkpoint id (a number, or latest)", text);
  }
  return id;
}

CLI::App* command(CLI::App& app, const std::string& name, const std::string& help,
                  StoreArgs& args, bool hidden) {
  auto* sub = app.add_subcommand(name, help);
  sub->add_option("--state-dir", args.state_dir,
                  "Open this state directory directly (root, no daemon; default "
                  "/var/lib/stasis). Without it, checkpoints, show, delete, pin, "
                  "unpin, prune, verify, inspect and diff ask stasisd");
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
  sub->add_option("ID", args.id_text, "Checkpoint id, or latest (the job's newest)")
      ->required();
}

} // namespace stasis::cli::store_cmd
