// `stasisctl inspect` and `stasisctl diff`: what a checkpoint holds and what
// changed between two. Without --state-dir they ask stasisd (InspectCheckpoint,
// DiffCheckpoints: the caller needs the right to restore the job); with it they
// read the store directly (root). `inspect FILE` reads an export file itself,
// with the caller's rights.
#include "cli/daemon_client.hpp"
#include "cli/inspect_text.hpp"
#include "cli/store_common.hpp"
#include "manager/inspect/reports.hpp"
#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>

namespace stasis::cli {
namespace {

using namespace store_cmd;

struct InspectArgs {
  StoreArgs store;
  std::vector<std::string> what; // FILE, or JOB ID
  std::string from, to;
  bool preview = false;
};

// JSON text of a report; bytes that are not UTF-8 (paths, comms) are replaced.
std::string dump(const json& report) {
  return report.dump(2, ' ', false, json::error_handler_t::replace);
}

// Parses the daemon's JSON text, or reports that it cannot.
std::optional<json> parse_report(const std::string& text, GlobalOptions& o) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    std::cerr << "stasisctl: stasisd sent a report that is not a JSON object\n";
    o.exit_code = k_exit_failure;
    return std::nullopt;
  }
  return j;
}

void print_report(json report, bool preview, GlobalOptions& o) {
  if (preview) {
    report["preview"] = restore_preview(report);
  }
  if (o.json) {
    std::cout << dump(report) << "\n";
    return;
  }
  print_inspect(report, std::cout);
  if (preview) {
    print_preview(report["preview"], std::cout);
  }
}

// The directory for the scratch store of `inspect FILE`.
std::filesystem::path scratch_dir() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && tmp[0] == '/' ? tmp : "/tmp";
}

void inspect_file(InspectArgs& a, GlobalOptions& o) {
  const auto& file = a.what[0];
  util::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    std::cerr << fmt::format("stasisctl: cannot open {}: {}\n", file,
                             std::strerror(errno));
    o.exit_code = errno == ENOENT ? k_exit_not_found : k_exit_failure;
    return;
  }
  auto report = manager::inspect::inspect_export_file(fd.get(), file, scratch_dir());
  if (!report) {
    std::cerr << fmt::format("stasisctl: {}: {}\n", file, report.error().message);
    o.exit_code = k_exit_failure;
    return;
  }
  print_report(std::move(*report), a.preview, o);
}

void inspect_checkpoint(InspectArgs& a, GlobalOptions& o, CLI::App* cmd) {
  a.store.job = a.what[0];
  a.store.id_text = a.what[1];
  if (asks_daemon(cmd)) {
    auto text = call_daemon(o, [&](dbus::Client& c) -> dbus::CResult<std::string> {
      const auto id = STASIS_TRY(resolve_checkpoint(c, a.store.job, a.store.id_text));
      return c.inspect_checkpoint(a.store.job, id);
    });
    if (text) {
      if (auto report = parse_report(*text, o)) {
        print_report(std::move(*report), a.preview, o);
      }
    }
    return;
  }
  run(o, a.store, [&](st::Store& s) -> Result<void> {
    auto report =
        STASIS_TRY(manager::inspect::inspect_stored(s, a.store.job, a.store.id));
    print_report(std::move(report), a.preview, o);
    return ok();
  });
}

void diff(InspectArgs& a, GlobalOptions& o, CLI::App* cmd) {
  if (asks_daemon(cmd)) {
    auto text = call_daemon(o, [&](dbus::Client& c) -> dbus::CResult<std::string> {
      const auto from = STASIS_TRY(resolve_checkpoint(c, a.store.job, a.from));
      const auto to = STASIS_TRY(resolve_checkpoint(c, a.store.job, a.to));
      return c.diff_checkpoints(a.store.job, from, to);
    });
    if (text) {
      if (auto report = parse_report(*text, o)) {
        o.json ? void(std::cout << dump(*report) << "\n")
               : print_diff(*report, std::cout);
      }
    }
    return;
  }
  a.store.id_text = a.from;
  run(o, a.store, [&](st::Store& s) -> Result<void> {
    const auto to = resolve_id(s, a.store.job, a.to);
    if (!to) {
      o.exit_code = is_checkpoint_id(a.to) ? k_exit_not_found : k_exit_usage;
      return Unexpected(to.error());
    }
    auto report =
        STASIS_TRY(manager::inspect::diff_stored(s, a.store.job, a.store.id, *to));
    o.json ? void(std::cout << dump(report) << "\n") : print_diff(report, std::cout);
    return ok();
  });
}

} // namespace

void register_inspect_commands(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<InspectArgs>();
  auto& a = *args;
  auto& o = options;

  auto* inspect = command(app, "inspect",
                          "What a checkpoint or an export file holds: processes, "
                          "memory map, files, sockets, CRIU/kernel/CPU",
                          a.store);
  inspect
      ->add_option("WHAT", a.what,
                   "FILE (an export file), or JOB ID (ID: a number or latest)")
      ->required()
      ->expected(1, 2);
  inspect->add_flag("--preview", a.preview,
                    "Also check a restore here: pids in use, CPU, missing files");
  inspect->callback([&a, &o, inspect] {
    if (a.what.size() == 1) {
      if (!asks_daemon(inspect)) {
        std::cerr << "stasisctl: inspect FILE reads the file itself; --state-dir goes "
                     "with JOB ID\n";
        o.exit_code = k_exit_usage;
        return;
      }
      inspect_file(a, o);
    } else {
      inspect_checkpoint(a, o, inspect);
    }
  });

  auto* diff_cmd =
      command(app, "diff", "What changed between two checkpoints of a job", a.store);
  diff_cmd->add_option("JOB", a.store.job, "Job name")->required();
  diff_cmd->add_option("A", a.from, "The older checkpoint id, or latest")->required();
  diff_cmd->add_option("B", a.to, "The newer checkpoint id, or latest")->required();
  diff_cmd->callback([&a, &o, diff_cmd] { diff(a, o, diff_cmd); });

  static std::shared_ptr<InspectArgs> keep_alive;
  keep_alive = args;
}

} // namespace stasis::cli
