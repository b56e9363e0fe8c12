// Store commands of stasisctl. With --state-dir they open the store directly
// (root, no daemon); checkpoints, show, delete, pin, unpin, prune and verify
// without it go through stasisd (store_via_daemon.cpp) and its access checks.
#include "cli/daemon_client.hpp"
#include "cli/store_common.hpp"
#include "cli/store_via_daemon.hpp"
#include "policy/retention.hpp"

#include <memory>

namespace stasis::cli {

using namespace store_cmd;

void register_store_commands(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<StoreArgs>();
  auto& a = *args;
  auto& o = options;

  auto* list = command(app, "checkpoints", "List the checkpoints of a job", a);
  list->add_option("JOB", a.job, "Job name (required without --all)");
  list->add_flag("-q,--quiet", o.quiet, k_quiet_help);
  auto all = std::make_shared<bool>(false);
  list->add_flag("--all", *all,
                 "Every job's checkpoints in the store, also of jobs no policy names any "
                 "more (orphans) and of renamed jobs' former names");
  list->callback([&a, &o, list, all] {
    if (*all || a.job.empty()) {
      if (!*all || !a.job.empty() || !asks_daemon(list) || (o.quiet && !o.json)) {
        std::cerr << "stasisctl: checkpoints needs a JOB, or --all (through stasisd: "
                     "without JOB, --state-dir and --quiet)\n";
        o.exit_code = k_exit_usage;
        return;
      }
      via_daemon::list_all_checkpoints(o);
      return;
    }
    if (o.quiet && !o.json && asks_daemon(list)) {
      for (const auto& id : quiet_checkpoint_ids(o, a.job)) {
        std::cout << id << "\n";
      }
      return;
    }
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
      if (o.quiet) {
        for (const auto& c : items) {
          std::cout << c.id << "\n";
        }
        return ok();
      }
      std::cout << fmt::format("{:>6}  {:19}  {:>10}  {:>10}  {}\n", "ID", "CREATED",
                               "LOGICAL", "STORED", "FLAGS");
      for (const auto& c : items) {
        if (c.damaged()) {
          std::cout << fmt::format("{:>6}  {:19}  {:>10}  {:>10}  {}\n", c.id, "-", "-",
                                   "-", c.pinned ? "pinned damaged" : "damaged");
          continue;
        }
        std::cout << fmt::format("{:>6}  {:19}  {:>10}  {:>10}  {}\n", c.id,
                                 time_text(c.created), human(c.logical_bytes),
                                 human(c.stored_bytes), c.pinned ? "pinned" : "");
      }
      for (const auto& c : items) {
        if (c.damaged()) {
          std::cout << fmt::format("DAMAGED {}/{}: {}\n", c.job, c.id, c.problem);
        }
      }
      return ok();
    });
  });

  auto* show = command(app, "show", "Show one checkpoint", a);
  add_job_id(show, a);
  show->callback([&a, &o, show] {
    if (asks_daemon(show)) {
      via_daemon::show_checkpoint(o, a.job, a.id_text);
      return;
    }
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto m = STASIS_TRY(s.get(a.job, a.id));
      auto sum = STASIS_TRY(s.summary(a.job, a.id));
      if (o.json) {
        json j = to_json(sum);
        j["files"] = sum.files;
        j["imported_from"] = json_id(sum.imported_from);
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
          files.push_back({{"name", f.name}, {"size_bytes", f.size}, {"mode", f.mode}});
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
                << fmt::format("  frozen        {}\n",
                               format_duration(m.stats.frozen_usec))
                << fmt::format("  files         {}\n", m.files.size());
      if (!m.imported_from.empty()) {
        std::cout << fmt::format("  imported from {}\n", m.imported_from);
      }
      return ok();
    });
  });

  auto* verify = command(app, "verify", "Re-hash the chunks of checkpoints", a);
  verify->add_option("JOB", a.job, "Job name (default: every job)");
  auto* verify_id = verify->add_option(
      "ID", a.id_text, "Checkpoint id, or latest (default: all of the job's)");
  verify->callback([&a, &o, verify, verify_id] {
    if (asks_daemon(verify)) {
      if (a.job.empty()) {
        std::cerr << "stasisctl: verify through stasisd takes a JOB (every job: "
                     "--state-dir DIR, as root)\n";
        o.exit_code = 2;
        return;
      }
      via_daemon::verify(o, a.job, a.id_text);
      return;
    }
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto id = verify_id->count() > 0 ? std::optional(a.id) : std::nullopt;
      auto r = STASIS_TRY(s.verify(a.job, id));
      if (o.json) {
        std::cout << json{{"job", json_id(a.job)},
                          {"id", id ? json(std::to_string(*id)) : json(nullptr)},
                          {"ok", r.ok()},
                          {"problems", problems_of(r.damaged)},
                          {"checkpoints", r.checkpoints},
                          {"blobs", r.blobs},
                          {"verified_bytes", r.bytes},
                          {"damaged", to_json(r.damaged)}}
                         .dump(2)
                  << "\n";
      } else if (o.quiet) {
        print_damaged(r.damaged);
      } else {
        print_damaged(r.damaged);
        std::cout << fmt::format("verified {} checkpoints, {} blobs, {}: {}\n",
                                 r.checkpoints, r.blobs, human(r.bytes),
                                 r.ok() ? "ok" : "DAMAGED");
      }
      if (!r.ok()) {
        o.exit_code = k_exit_damaged;
      }
      return ok();
    });
  });

  auto* del = command(app, "delete", "Delete a checkpoint (not when pinned)", a);
  add_job_id(del, a);
  del->callback([&a, &o, del] {
    if (asks_daemon(del)) {
      via_daemon::delete_checkpoint(o, a.job, a.id_text);
      return;
    }
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto r = STASIS_TRY(s.remove(a.job, a.id));
      if (o.json) {
        std::cout << json{{"job", a.job},
                          {"id", std::to_string(a.id)},
                          {"gc", to_json(r)}}
                         .dump(2)
                  << "\n";
      } else if (!o.quiet) {
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
        via_daemon::pin_checkpoint(o, a.job, a.id_text, pin);
        return;
      }
      run(o, a, [&](st::Store& s) -> Result<void> {
        STASIS_TRY(s.set_pinned(a.job, a.id, pin));
        if (o.json) {
          std::cout << json{{"job", a.job}, {"id", std::to_string(a.id)}, {"pinned", pin}}
                           .dump(2)
                    << "\n";
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
        std::cout << prune_json(a.job, r.dry_run, prune_decisions(r.decisions),
                                r.dry_run ? json(nullptr) : to_json(r.gc))
                         .dump(2)
                  << "\n";
        return ok();
      }
      if (o.quiet) {
        for (const auto& d : r.decisions) {
          if (!d.keep) {
            std::cout << d.id << "\n";
          }
        }
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

  (void)args;
  static std::shared_ptr<StoreArgs> keep_alive;
  keep_alive = args;
}

} // namespace stasis::cli
