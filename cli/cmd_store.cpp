// Store commands of stasisctl. With --state-dir they open the store directly
// (root, no daemon); checkpoints, show, delete, pin, unpin, prune and verify
// without it go through stasisd (store_via_daemon.cpp) and its access checks.
#include "cli/commands.hpp"
#include "cli/store_via_daemon.hpp"
#include "policy/duration.hpp"
#include "policy/retention.hpp"
#include "store/store.hpp"

#include <ctime>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

namespace stasis::cli {
namespace {

using nlohmann::json;
namespace st = stasis::store;

struct StoreArgs {
  std::string state_dir = "/var/lib/stasis";
  std::string job;
  std::uint64_t id = 0;
  std::string path;
  std::string parent;
  bool dry_run = false;
  bool criu_dir = false;
  bool verify_data = false;
  st::IngestInfo info;
  std::optional<unsigned> keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly,
      keep_yearly;
  std::string keep_within;
  std::string max_total_size;
  std::string time_zone;
};

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
          {"frozen_usec", s.stats.frozen_usec}};
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

// Runs body with an opened store; errors go to stderr (or JSON) with exit 1.
template <typename Body>
void run(GlobalOptions& options, const StoreArgs& args, Body&& body) {
  auto store = st::Store::open(args.state_dir);
  Result<void> result = store ? body(*store) : Result<void>(Unexpected(store.error()));
  if (!result) {
    if (options.json) {
      std::cout << json{{"error", result.error().message}}.dump() << "\n";
    } else {
      std::cerr << "stasisctl: " << result.error().message << "\n";
    }
    if (options.exit_code == 0) {
      options.exit_code = 1;
    }
  }
}

CLI::App* command(CLI::App& app, const std::string& name, const std::string& help,
                  StoreArgs& args, bool hidden = false) {
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

} // namespace

void register_store_commands(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<StoreArgs>();
  auto& a = *args;
  auto& o = options;

  auto* list = command(app, "checkpoints", "List the checkpoints of a job", a);
  list->add_option("JOB", a.job, "Job name")->required();
  list->callback([&a, &o, list] {
    if (asks_daemon(list)) {
      via_daemon::list_checkpoints(o, a.job);
      return;
    }
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto items = STASIS_TRY(s.list(a.job));
      if (o.json) {
        json out = json::array();
        for (const auto& c : items) {
          out.push_back(to_json(c));
        }
        std::cout << out.dump(2) << "\n";
        return ok();
      }
      std::cout << fmt::format("{:>6}  {:19}  {:>10}  {:>10}  {}\n", "ID", "CREATED",
                               "LOGICAL", "STORED", "FLAGS");
      for (const auto& c : items) {
        std::cout << fmt::format("{:>6}  {:19}  {:>10}  {:>10}  {}\n", c.id,
                                 time_text(c.created), human(c.logical_bytes),
                                 human(c.stored_bytes), c.pinned ? "pinned" : "");
      }
      return ok();
    });
  });

  auto* show = command(app, "show", "Show one checkpoint", a);
  add_job_id(show, a);
  show->callback([&a, &o, show] {
    if (asks_daemon(show)) {
      via_daemon::show_checkpoint(o, a.job, std::to_string(a.id));
      return;
    }
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto m = STASIS_TRY(s.get(a.job, a.id));
      auto sum = STASIS_TRY(s.summary(a.job, a.id));
      if (o.json) {
        json j = to_json(sum);
        j["kernel"] = m.kernel;
        j["cpu"] = m.cpu;
        j["target"] = m.target;
        j["stats"] = {{"frozen_usec", m.stats.frozen_usec},
                      {"memdump_usec", m.stats.memdump_usec},
                      {"memwrite_usec", m.stats.memwrite_usec},
                      {"pages_scanned", m.stats.pages_scanned},
                      {"pages_written", m.stats.pages_written}};
        json files = json::array();
        for (const auto& f : m.files) {
          files.push_back({{"name", f.name}, {"size", f.size}, {"mode", f.mode}});
        }
        j["image_files"] = files;
        std::cout << j.dump(2) << "\n";
        return ok();
      }
      std::cout << fmt::format("checkpoint {}/{}\n", m.job, m.id)
                << fmt::format("  created       {}\n", time_text(m.created))
                << fmt::format("  previous      {}\n",
                               m.previous ? std::to_string(*m.previous) : "-")
                << fmt::format("  pinned        {}\n", sum.pinned ? "yes" : "no")
                << fmt::format("  logical       {}\n", human(m.logical_bytes))
                << fmt::format("  newly stored  {}\n", human(m.stored_bytes))
                << fmt::format("  criu          {}\n", m.criu_version)
                << fmt::format("  kernel        {}\n", m.kernel)
                << fmt::format("  cpu           {}\n", m.cpu)
                << fmt::format("  target        {}\n", m.target)
                << fmt::format("  fingerprint   {}\n", m.policy_fingerprint)
                << fmt::format("  frozen        {} us\n", m.stats.frozen_usec)
                << fmt::format("  files         {}\n", m.files.size());
      if (!m.imported_from.empty()) {
        std::cout << fmt::format("  imported from {}\n", m.imported_from);
      }
      return ok();
    });
  });

  auto* verify = command(app, "verify", "Re-hash the chunks of checkpoints", a);
  verify->add_option("JOB", a.job, "Job name (default: every job)");
  auto* verify_id = verify->add_option("ID", a.id, "Checkpoint id (default: all)");
  verify->callback([&a, &o, verify, verify_id] {
    if (asks_daemon(verify)) {
      if (a.job.empty()) {
        std::cerr << "stasisctl: verify through stasisd takes a JOB (every job: "
                     "--state-dir DIR, as root)\n";
        o.exit_code = 2;
        return;
      }
      via_daemon::verify(o, a.job, verify_id->count() > 0 ? std::to_string(a.id) : "");
      return;
    }
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto id = verify_id->count() > 0 ? std::optional(a.id) : std::nullopt;
      auto r = STASIS_TRY(s.verify(a.job, id));
      if (o.json) {
        std::cout << json{{"ok", r.ok()},
                          {"checkpoints", r.checkpoints},
                          {"blobs", r.blobs},
                          {"bytes", r.bytes},
                          {"damaged", to_json(r.damaged)}}
                         .dump(2)
                  << "\n";
      } else {
        print_damaged(r.damaged);
        std::cout << fmt::format("verified {} checkpoints, {} blobs, {}: {}\n",
                                 r.checkpoints, r.blobs, human(r.bytes),
                                 r.ok() ? "ok" : "DAMAGED");
      }
      if (!r.ok()) {
        o.exit_code = 2;
      }
      return ok();
    });
  });

  auto* fsck =
      command(app, "fsck", "Check the store and clean up interrupted operations", a);
  fsck->add_flag("--verify-data", a.verify_data, "Also re-hash every stored chunk");
  fsck->callback([&a, &o] {
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto r = STASIS_TRY(s.fsck(a.verify_data));
      if (o.json) {
        std::cout << json{{"ok", r.ok()},
                          {"packs", r.packs},
                          {"blobs", r.blobs},
                          {"checkpoints", r.checkpoints},
                          {"temp_files_removed", r.temp_files_removed},
                          {"orphan_packs_removed", r.orphan_packs_removed},
                          {"problems", r.problems},
                          {"damaged", to_json(r.damaged)}}
                         .dump(2)
                  << "\n";
      } else {
        for (const auto& p : r.problems) {
          std::cout << "PROBLEM " << p << "\n";
        }
        print_damaged(r.damaged);
        std::cout << fmt::format(
            "{} packs, {} blobs, {} checkpoints; removed {} temporary "
            "files and {} unused packs: {}\n",
            r.packs, r.blobs, r.checkpoints, r.temp_files_removed, r.orphan_packs_removed,
            r.ok() ? "clean" : "PROBLEMS");
      }
      if (!r.ok()) {
        o.exit_code = 2;
      }
      return ok();
    });
  });

  auto* del = command(app, "delete", "Delete a checkpoint (not when pinned)", a);
  add_job_id(del, a);
  del->callback([&a, &o, del] {
    if (asks_daemon(del)) {
      via_daemon::delete_checkpoint(o, a.job, std::to_string(a.id));
      return;
    }
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto r = STASIS_TRY(s.remove(a.job, a.id));
      if (o.json) {
        std::cout << json{{"deleted", a.id}, {"gc", to_json(r)}}.dump(2) << "\n";
      } else {
        std::cout << fmt::format("deleted {}/{}; freed {}\n", a.job, a.id,
                                 human(r.bytes_freed));
      }
      return ok();
    });
  });

  for (bool pin : {true, false}) {
    auto* p = command(
        app, pin ? "pin" : "unpin",
        pin ? "Pin a checkpoint (retention never deletes it)" : "Unpin a checkpoint", a);
    add_job_id(p, a);
    p->callback([&a, &o, p, pin] {
      if (asks_daemon(p)) {
        via_daemon::pin_checkpoint(o, a.job, std::to_string(a.id), pin);
        return;
      }
      run(o, a, [&](st::Store& s) -> Result<void> {
        STASIS_TRY(s.set_pinned(a.job, a.id, pin));
        if (o.json) {
          std::cout << json{{"job", a.job}, {"id", a.id}, {"pinned", pin}}.dump() << "\n";
        }
        return ok();
      });
    });
  }

  auto* prune = command(app, "prune", "Apply retention rules to a job's checkpoints", a);
  prune->add_option("JOB", a.job, "Job name")->required();
  prune->add_flag("--dry-run", a.dry_run, "Only show what would be deleted");
  prune->add_option("--keep-last", a.keep_last, "Keep the N newest");
  prune->add_option("--keep-hourly", a.keep_hourly, "Keep the newest of each of N hours");
  prune->add_option("--keep-daily", a.keep_daily, "Keep the newest of each of N days");
  prune->add_option("--keep-weekly", a.keep_weekly, "Keep the newest of each of N weeks");
  prune->add_option("--keep-monthly", a.keep_monthly,
                    "Keep the newest of each of N months");
  prune->add_option("--keep-yearly", a.keep_yearly, "Keep the newest of each of N years");
  prune->add_option("--keep-within", a.keep_within,
                    "Keep all within DURATION of the newest");
  prune->add_option("--max-total-size", a.max_total_size, "Drop oldest until under SIZE");
  prune->add_option("--time-zone", a.time_zone, "Time zone of calendar periods");
  prune->callback([&a, &o, prune] {
    if (asks_daemon(prune)) {
      const bool overrides = a.keep_last || a.keep_hourly || a.keep_daily ||
                             a.keep_weekly || a.keep_monthly || a.keep_yearly ||
                             !a.keep_within.empty() || !a.max_total_size.empty();
      if (overrides) {
        std::cerr << "stasisctl: stasisd prunes by the job's own retention; rules on the "
                     "command line need --state-dir DIR (as root)\n";
        o.exit_code = 2;
        return;
      }
      via_daemon::prune(o, a.job, a.dry_run);
      return;
    }
    run(o, a, [&](st::Store& s) -> Result<void> {
      policy::RetentionRules rules;
      rules.keep_last = a.keep_last;
      rules.keep_hourly = a.keep_hourly;
      rules.keep_daily = a.keep_daily;
      rules.keep_weekly = a.keep_weekly;
      rules.keep_monthly = a.keep_monthly;
      rules.keep_yearly = a.keep_yearly;
      if (!a.keep_within.empty()) {
        rules.keep_within = STASIS_TRY(policy::parse_duration(a.keep_within));
      }
      if (!a.max_total_size.empty()) {
        rules.max_total_size = STASIS_TRY(policy::parse_size(a.max_total_size));
      }
      if (rules.empty()) {
        return make_error("prune needs at least one rule (--keep-last N, --keep-daily N, "
                          "--keep-within 7d, --max-total-size 10G, ...)");
      }
      auto r = STASIS_TRY(s.prune(a.job, rules, a.dry_run, a.time_zone));
      if (o.json) {
        json decisions = json::array();
        for (const auto& d : r.decisions) {
          decisions.push_back({{"id", d.id}, {"keep", d.keep}, {"reasons", d.reasons}});
        }
        std::cout << json{{"dry_run", r.dry_run},
                          {"decisions", decisions},
                          {"deleted", r.deleted},
                          {"gc", to_json(r.gc)}}
                         .dump(2)
                  << "\n";
        return ok();
      }
      for (const auto& d : r.decisions) {
        std::string reasons;
        for (const auto& why : d.reasons) {
          reasons += (reasons.empty() ? "" : ", ") + why;
        }
        std::cout << fmt::format(
            "{:>6}  {:6}  {}\n", d.id,
            d.keep ? "keep" : (r.dry_run ? "would delete" : "delete"), reasons);
      }
      if (!r.dry_run) {
        std::cout << fmt::format("deleted {} checkpoints, freed {}\n", r.deleted.size(),
                                 human(r.gc.bytes_freed));
      }
      return ok();
    });
  });

  auto* gc = command(app, "gc", "Remove stored data no checkpoint uses", a);
  gc->callback([&a, &o] {
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto r = STASIS_TRY(s.gc());
      if (o.json) {
        std::cout << to_json(r).dump(2) << "\n";
      } else {
        std::cout << fmt::format("{} packs deleted, {} repacked, {} freed\n",
                                 r.packs_deleted, r.packs_repacked, human(r.bytes_freed));
      }
      return ok();
    });
  });

  auto* exp =
      command(app, "export", "Export a checkpoint as one file (or a CRIU images dir)", a);
  add_job_id(exp, a);
  exp->add_option("FILE", a.path, "Output file (or directory with --criu-dir)")
      ->required();
  exp->add_flag("--criu-dir", a.criu_dir,
                "Write a plain CRIU images dir for criu restore");
  exp->callback([&a, &o] {
    run(o, a, [&](st::Store& s) -> Result<void> {
      if (a.criu_dir) {
        STASIS_TRY(s.materialize(a.job, a.id, a.path));
      } else {
        STASIS_TRY(s.export_checkpoint(a.job, a.id, a.path));
      }
      if (o.json) {
        std::cout << json{{"job", a.job}, {"id", a.id}, {"path", a.path}}.dump() << "\n";
      }
      return ok();
    });
  });

  auto* imp = command(app, "import", "Import a checkpoint export file", a);
  imp->add_option("FILE", a.path, "Export file")->required();
  imp->add_option("--job", a.job, "Store it under this job (default: its own)");
  imp->callback([&a, &o] {
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto c = STASIS_TRY(s.import_checkpoint(a.path, a.job));
      if (o.json) {
        std::cout << to_json(c).dump(2) << "\n";
      } else {
        std::cout << fmt::format("imported as {}/{} ({} newly stored)\n", c.job, c.id,
                                 human(c.stored_bytes));
      }
      return ok();
    });
  });

  auto* du = command(app, "du", "Logical vs stored bytes per job", a);
  du->callback([&a, &o] {
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto u = STASIS_TRY(s.usage());
      if (o.json) {
        json jobs = json::array();
        for (const auto& j : u.jobs) {
          jobs.push_back({{"job", j.job},
                          {"checkpoints", j.checkpoints},
                          {"logical_bytes", j.logical_bytes},
                          {"stored_bytes", j.stored_bytes},
                          {"dedup_ratio", j.dedup_ratio()}});
        }
        std::cout << json{{"jobs", jobs},
                          {"logical_bytes", u.logical_bytes},
                          {"referenced_bytes", u.referenced_bytes},
                          {"pack_bytes", u.pack_bytes},
                          {"manifest_bytes", u.manifest_bytes}}
                         .dump(2)
                  << "\n";
        return ok();
      }
      std::cout << fmt::format("{:20} {:>6} {:>10} {:>10} {:>7}\n", "JOB", "CKPTS",
                               "LOGICAL", "STORED", "RATIO");
      for (const auto& j : u.jobs) {
        std::cout << fmt::format("{:20} {:>6} {:>10} {:>10} {:>6.1f}x\n", j.job,
                                 j.checkpoints, human(j.logical_bytes),
                                 human(j.stored_bytes), j.dedup_ratio());
      }
      std::cout << fmt::format(
          "total: {} logical, {} referenced, {} in packs, {} manifests\n",
          human(u.logical_bytes), human(u.referenced_bytes), human(u.pack_bytes),
          human(u.manifest_bytes));
      return ok();
    });
  });

  // Plumbing for tests and benchmarks (hidden from --help).
  auto* ingest =
      command(app, "ingest", "Store a CRIU images dir as a new checkpoint", a, true);
  ingest->add_option("JOB", a.job, "Job name")->required();
  ingest->add_option("IMAGES_DIR", a.path, "CRIU images dir")->required();
  ingest->add_option("--parent", a.parent,
                     "Checkpoint id CRIU's parent images belong to");
  ingest->add_option("--criu-version", a.info.criu_version, "CRIU version to record");
  ingest->add_option("--fingerprint", a.info.policy_fingerprint,
                     "Policy fingerprint to record");
  ingest->add_option("--frozen-usec", a.info.stats.frozen_usec, "Frozen time to record");
  ingest->callback([&a, &o] {
    run(o, a, [&](st::Store& s) -> Result<void> {
      if (!a.parent.empty()) {
        a.info.parent = std::stoull(a.parent);
      }
      auto c = STASIS_TRY(s.ingest(a.job, a.path, a.info));
      if (o.json) {
        std::cout << to_json(c).dump(2) << "\n";
      } else {
        std::cout << fmt::format("stored {}/{}: {} logical, {} new\n", c.job, c.id,
                                 human(c.logical_bytes), human(c.stored_bytes));
      }
      return ok();
    });
  });

  auto* mat =
      command(app, "materialize", "Write a checkpoint as a CRIU images dir", a, true);
  add_job_id(mat, a);
  mat->add_option("DIR", a.path, "Empty or absent directory")->required();
  mat->callback([&a, &o] {
    run(o, a,
        [&](st::Store& s) -> Result<void> { return s.materialize(a.job, a.id, a.path); });
  });
  (void)args;
  static std::shared_ptr<StoreArgs> keep_alive;
  keep_alive = args;
}

} // namespace stasis::cli
