// Store maintenance and transfer commands of stasisctl (fsck, gc, export,
// import, du; hidden ingest and materialize for tests and scripts). Without
// --state-dir, fsck, gc, export, import and du go through stasisd and its
// access checks (store_via_daemon.cpp); with it they open the state dir
// directly (root, no daemon), and only import and ingest create one.
#include "cli/daemon_client.hpp"
#include "cli/store_common.hpp"
#include "cli/store_via_daemon.hpp"

#include <memory>

namespace stasis::cli {

using namespace store_cmd;

namespace {

// The store's problems and the damaged checkpoints' as stasisd's Fsck has them.
std::vector<std::string> fsck_problems(const st::FsckReport& r) {
  auto problems = r.problems;
  for (const auto& d : r.damaged) {
    for (const auto& problem : d.problems) {
      problems.push_back(
          fmt::format("checkpoint {}/{} is damaged: {}", d.job, d.id, problem));
    }
  }
  return problems;
}

} // namespace

void register_store_admin_commands(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<StoreArgs>();
  auto& a = *args;
  auto& o = options;

  auto* fsck =
      command(app, "fsck",
              "Check the store and clean up interrupted operations (and the run dirs "
              "a killed stasisd left)",
              a);
  fsck->add_flag("--verify-data", a.verify_data, "Also re-hash every stored chunk");
  fsck->callback([&a, &o, fsck] {
    if (asks_daemon(fsck)) {
      via_daemon::fsck(o, a.verify_data);
      return;
    }
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto r = STASIS_TRY(s.fsck(a.verify_data));
      if (o.json) {
        std::cout << json{{"ok", r.ok()},
                          {"packs", r.packs},
                          {"blobs", r.blobs},
                          {"checkpoints", r.checkpoints},
                          {"temp_files_removed", r.temp_files_removed},
                          {"orphan_packs_removed", r.orphan_packs_removed},
                          {"leftover_runs_removed", r.leftover_runs_removed},
                          {"leftover_freed_bytes", r.leftover_bytes_freed},
                          {"runs_in_flight", r.runs_in_flight},
                          {"problems", fsck_problems(r)},
                          {"damaged", to_json(r.damaged)}}
                         .dump(2)
                  << "\n";
      } else {
        for (const auto& p : r.problems) {
          std::cout << "PROBLEM " << p << "\n";
        }
        print_damaged(r.damaged);
        // --quiet: only the problems; the exit code tells the rest.
        if (!o.quiet && r.leftover_runs_removed > 0) {
          std::cout << fmt::format("removed the work and log dirs of {} run(s) a stopped "
                                   "stasisd left behind ({})\n",
                                   r.leftover_runs_removed,
                                   human(r.leftover_bytes_freed));
        }
        if (!o.quiet && r.runs_in_flight > 0) {
          std::cout << fmt::format("left {} run dir(s) alone: a running stasisd holds "
                                   "the state dir\n",
                                   r.runs_in_flight);
        }
        if (!o.quiet) {
          std::cout << fmt::format("{} packs, {} blobs, {} checkpoints; removed {} "
                                   "temporary files and {} unused packs: {}\n",
                                   r.packs, r.blobs, r.checkpoints, r.temp_files_removed,
                                   r.orphan_packs_removed, r.ok() ? "clean" : "PROBLEMS");
        }
      }
      if (!r.ok()) {
        o.exit_code = k_exit_damaged;
      }
      return ok();
    });
  });

  auto* gc = command(app, "gc", "Remove stored data no checkpoint uses", a);
  gc->callback([&a, &o, gc] {
    if (asks_daemon(gc)) {
      via_daemon::gc(o);
      return;
    }
    run(o, a, [&](st::Store& s) -> Result<void> {
      auto r = STASIS_TRY(s.gc());
      if (o.json) {
        std::cout << to_json(r).dump(2) << "\n";
      } else if (!o.quiet) {
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
  exp->callback([&a, &o, exp] {
    if (asks_daemon(exp)) {
      if (a.criu_dir) {
        std::cerr << "stasisctl: --criu-dir writes files as root: it needs --state-dir "
                     "DIR (as root)\n";
        o.exit_code = k_exit_usage;
        return;
      }
      via_daemon::export_file(o, a.job, a.id_text, a.path);
      return;
    }
    run(o, a, [&](st::Store& s) -> Result<void> {
      if (a.criu_dir) {
        STASIS_TRY(s.materialize(a.job, a.id, a.path));
      } else {
        STASIS_TRY(s.export_checkpoint(a.job, a.id, a.path));
      }
      if (o.json) {
        std::cout << json{{"job", a.job}, {"id", std::to_string(a.id)}, {"path", a.path}}
                         .dump(2)
                  << "\n";
      }
      return ok();
    });
  });

  auto* imp = command(app, "import", "Import a checkpoint export file into a job", a);
  imp->add_option("FILE", a.path, "Export file")->required();
  imp->add_option("--job", a.job,
                  "Store it as the next checkpoint of this job (required: the job "
                  "named in the file is never used)")
      ->required();
  imp->callback([&a, &o, imp] {
    if (asks_daemon(imp)) {
      via_daemon::import_file(o, a.path, a.job);
      return;
    }
    run_creating(o, a, [&](st::Store& s) -> Result<void> {
      auto c = STASIS_TRY(s.import_checkpoint(a.path, a.job));
      if (o.json) {
        std::cout << to_json(c).dump(2) << "\n";
      } else if (o.quiet) {
        std::cout << c.id << "\n";
      } else {
        std::cout << fmt::format("imported as {}/{} ({} newly stored)\n", c.job, c.id,
                                 human(c.stored_bytes));
      }
      return ok();
    });
  });

  auto* du = command(app, "du", "Logical vs stored bytes per job", a);
  du->callback([&a, &o, du] {
    if (asks_daemon(du)) {
      via_daemon::disk_usage(o);
      return;
    }
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
    run_creating(o, a, [&](st::Store& s) -> Result<void> {
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
  static std::shared_ptr<StoreArgs> keep_alive;
  keep_alive = args;
}

} // namespace stasis::cli
