#include "cli/store_via_daemon.hpp"

#include "cli/daemon_client.hpp"
#include "cli/run_wait.hpp"
#include "util/unique_fd.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <optional>
#include <unistd.h>
#include <vector>

#include <fmt/ranges.h>

namespace stasis::cli::via_daemon {
namespace {

using nlohmann::json;

void print_table(const std::vector<manager::CheckpointInfo>& items) {
  std::cout << fmt::format("{:>6}  {:19}  {:>10}  {:>10}  {}\n", "ID", "CREATED",
                           "LOGICAL", "STORED", "FLAGS");
  for (const auto& c : items) {
    if (!c.problem.empty()) {
      std::cout << fmt::format("{:>6}  {:19}  {:>10}  {:>10}  {}\n", c.id, "-", "-", "-",
                               c.pinned ? "pinned damaged" : "damaged");
      continue;
    }
    std::cout << fmt::format("{:>6}  {:19}  {:>10}  {:>10}  {}\n", c.id,
                             format_time(c.created), format_bytes(c.logical_bytes),
                             format_bytes(c.stored_bytes), c.pinned ? "pinned" : "");
  }
  for (const auto& c : items) {
    if (!c.problem.empty()) {
      std::cout << fmt::format("DAMAGED checkpoint {}: {}\n", c.id, c.problem);
    }
  }
}

} // namespace

void list_checkpoints(GlobalOptions& options, const std::string& job) {
  auto items =
      call_daemon(options, [&](dbus::Client& c) { return c.list_checkpoints(job); });
  if (!items) {
    return;
  }
  if (options.json) {
    json out = json::array();
    for (const auto& c : *items) {
      out.push_back(to_json(c));
    }
    std::cout << out.dump(2) << "\n";
  } else {
    print_table(*items);
  }
}

void list_all_checkpoints(GlobalOptions& options) {
  auto items =
      call_daemon(options, [&](dbus::Client& c) { return c.list_all_checkpoints(); });
  if (!items) {
    return;
  }
  if (options.json) {
    json out = json::array();
    for (const auto& c : *items) {
      auto entry = to_json(c);
      entry["job"] = c.job;
      entry["orphan"] = c.orphan;
      entry["renamed_to"] = c.renamed_to;
      out.push_back(std::move(entry));
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{:24}  {:>6}  {:19}  {:>10}  {:>10}  {}\n", "JOB", "ID",
                           "CREATED", "LOGICAL", "STORED", "FLAGS");
  for (const auto& c : *items) {
    std::vector<std::string> flags;
    if (c.pinned) {
      flags.emplace_back("pinned");
    }
    if (!c.problem.empty()) {
      flags.emplace_back("damaged");
    }
    if (c.orphan) {
      flags.emplace_back("orphan");
    }
    if (!c.renamed_to.empty()) {
      flags.push_back("renamed-to:" + c.renamed_to);
    }
    const bool known = c.problem.empty();
    std::cout << fmt::format(
        "{:24}  {:>6}  {:19}  {:>10}  {:>10}  {}\n", c.job, c.id,
        known ? format_time(c.created) : "-", known ? format_bytes(c.logical_bytes) : "-",
        known ? format_bytes(c.stored_bytes) : "-", fmt::join(flags, " "));
  }
  for (const auto& c : *items) {
    if (!c.problem.empty()) {
      std::cout << fmt::format("DAMAGED checkpoint {}/{}: {}\n", c.job, c.id, c.problem);
    }
  }
}

void show_checkpoint(GlobalOptions& options, const std::string& job,
                     const std::string& id) {
  std::string wanted = id;
  auto items = call_daemon(options, [&](dbus::Client& c) {
    auto resolved = resolve_checkpoint(c, job, id);
    if (!resolved) {
      return dbus::CResult<std::vector<manager::CheckpointInfo>>(
          Unexpected(std::move(resolved).error()));
    }
    wanted = *resolved;
    return c.list_checkpoints(job);
  });
  if (!items) {
    return;
  }
  const auto found = std::find_if(items->begin(), items->end(),
                                  [&](const auto& c) { return c.id == wanted; });
  if (found == items->end()) {
    std::cerr << fmt::format("stasisctl: job '{}' has no checkpoint '{}'\n", job, id);
    options.exit_code = k_exit_not_found;
    return;
  }
  if (options.json) {
    std::cout << to_json(*found).dump(2) << "\n";
    return;
  }
  const auto& c = *found;
  std::cout << fmt::format("checkpoint {}/{}\n", job, c.id)
            << fmt::format("  created       {}\n", format_time(c.created))
            << fmt::format("  previous      {}\n", c.previous.empty() ? "-" : c.previous)
            << fmt::format("  pinned        {}\n", c.pinned ? "yes" : "no")
            << fmt::format("  logical       {}\n", format_bytes(c.logical_bytes))
            << fmt::format("  newly stored  {}\n", format_bytes(c.stored_bytes))
            << fmt::format("  criu          {}\n", c.criu_version)
            << fmt::format("  fingerprint   {}\n", c.fingerprint)
            << fmt::format("  frozen        {}\n", format_duration(c.frozen_usec))
            << "  (processes, files, kernel and CPU: stasisctl inspect JOB ID)\n";
}

void delete_checkpoint(GlobalOptions& options, const std::string& job,
                       const std::string& id) {
  std::string deleted = id;
  if (!call_daemon_void(options, [&](dbus::Client& c) -> dbus::CResult<void> {
        deleted = STASIS_TRY(resolve_checkpoint(c, job, id));
        return c.delete_checkpoint(job, deleted);
      })) {
    return;
  }
  if (options.json) {
    std::cout << json{{"job", job}, {"deleted", deleted}}.dump(2) << "\n";
  } else {
    std::cout << fmt::format("deleted {}/{}\n", job, deleted);
  }
}

void pin_checkpoint(GlobalOptions& options, const std::string& job, const std::string& id,
                    bool pin) {
  std::string pinned = id;
  if (!call_daemon_void(options, [&](dbus::Client& c) -> dbus::CResult<void> {
        pinned = STASIS_TRY(resolve_checkpoint(c, job, id));
        return c.pin_checkpoint(job, pinned, pin);
      })) {
    return;
  }
  if (options.json) {
    std::cout << json{{"job", job}, {"id", pinned}, {"pinned", pin}}.dump() << "\n";
  }
}

void prune(GlobalOptions& options, const std::string& job, bool dry_run) {
  auto lines =
      call_daemon(options, [&](dbus::Client& c) { return c.prune(job, dry_run); });
  if (!lines) {
    return;
  }
  if (options.json) {
    std::cout << json{{"job", job}, {"dry_run", dry_run}, {"decisions", *lines}}.dump(2)
              << "\n";
    return;
  }
  for (const auto& line : *lines) {
    std::cout << line << "\n";
  }
  if (dry_run) {
    std::cout << "(dry run: nothing deleted)\n";
  }
}

void verify(GlobalOptions& options, const std::string& job, const std::string& id) {
  std::string verified = id;
  auto result =
      call_daemon(options, [&](dbus::Client& c) -> dbus::CResult<manager::VerifyReport> {
        verified = STASIS_TRY(resolve_checkpoint(c, job, id));
        return c.verify(job, verified);
      });
  if (!result) {
    return;
  }
  if (options.json) {
    std::cout
        << json{{"job", job}, {"ok", result->ok}, {"problems", result->problems}}.dump(2)
        << "\n";
  } else {
    for (const auto& problem : result->problems) {
      std::cout << "DAMAGED " << job << ": " << problem << "\n";
    }
    std::cout << fmt::format("{}{}: {}\n", job, verified.empty() ? "" : "/" + verified,
                             result->ok ? "ok" : "DAMAGED");
  }
  if (!result->ok) {
    options.exit_code = k_exit_damaged;
  }
}

void disk_usage(GlobalOptions& options) {
  auto usage = call_daemon(options, [&](dbus::Client& c) { return c.disk_usage(); });
  if (!usage) {
    return;
  }
  auto ratio = [](std::uint64_t logical, std::uint64_t stored) {
    return stored == 0 ? 0.0 : static_cast<double>(logical) / static_cast<double>(stored);
  };
  if (options.json) {
    json jobs = json::array();
    for (const auto& j : usage->jobs) {
      jobs.push_back({{"job", j.job},
                      {"checkpoints", j.checkpoints},
                      {"logical_bytes", j.logical_bytes},
                      {"stored_bytes", j.stored_bytes},
                      {"dedup_ratio", ratio(j.logical_bytes, j.stored_bytes)}});
    }
    json out{{"jobs", jobs}};
    if (usage->whole_store) {
      out["logical_bytes"] = usage->logical_bytes;
      out["referenced_bytes"] = usage->referenced_bytes;
      out["pack_bytes"] = usage->pack_bytes;
      out["manifest_bytes"] = usage->manifest_bytes;
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("{:20} {:>6} {:>10} {:>10} {:>7}\n", "JOB", "CKPTS", "LOGICAL",
                           "STORED", "RATIO");
  for (const auto& j : usage->jobs) {
    std::cout << fmt::format("{:20} {:>6} {:>10} {:>10} {:>6.1f}x\n", j.job,
                             j.checkpoints, format_bytes(j.logical_bytes),
                             format_bytes(j.stored_bytes),
                             ratio(j.logical_bytes, j.stored_bytes));
  }
  if (usage->whole_store) {
    std::cout << fmt::format(
        "total: {} logical, {} referenced, {} in packs, {} manifests\n",
        format_bytes(usage->logical_bytes), format_bytes(usage->referenced_bytes),
        format_bytes(usage->pack_bytes), format_bytes(usage->manifest_bytes));
  }
}

namespace {

// The file an export goes to: an unnamed file of the caller's in the
// directory of `file`, mode 0600 (O_TMPFILE: a stasisctl killed midway leaves nothing),
// given a temporary name and renamed over `file` once the export is complete;
// a temp file removed on failure where the filesystem has no O_TMPFILE.
class ExportTarget {
public:
  explicit ExportTarget(std::string file) : m_file(std::move(file)) {}
  ~ExportTarget() {
    if (!m_temp.empty()) {
      ::unlink(m_temp.c_str());
    }
  }
  ExportTarget(const ExportTarget&) = delete;
  ExportTarget& operator=(const ExportTarget&) = delete;

  // Opens the descriptor to send; an error message on failure.
  std::optional<std::string> open() {
    if (m_file == "-") {
      m_fd = util::UniqueFd(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
      return m_fd ? std::nullopt
                  : std::optional<std::string>(fmt::format(
                        "cannot use standard output: {}", std::strerror(errno)));
    }
    const auto slash = m_file.rfind('/');
    m_dir = slash == std::string::npos ? "./" : m_file.substr(0, slash + 1);
    m_fd = util::UniqueFd(::open(m_dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
    if (m_fd) {
      m_unnamed = true;
      return std::nullopt;
    }
    std::string pattern = m_dir + ".stasis-export-XXXXXX";
    m_fd = util::UniqueFd(::mkostemp(pattern.data(), O_CLOEXEC));
    if (!m_fd) {
      return fmt::format("cannot create a file in {}: {}", m_dir, std::strerror(errno));
    }
    m_temp = pattern;
    return std::nullopt;
  }
  int fd() const { return m_fd.get(); }
  // Makes the export visible under its name.
  std::optional<std::string> commit() {
    if (m_file == "-") {
      return std::nullopt;
    }
    if (::fsync(m_fd.get()) != 0) {
      return fmt::format("cannot write {}: {}", m_file, std::strerror(errno));
    }
    if (m_unnamed) {
      // A name of its own first: linkat cannot replace an existing file.
      for (int attempt = 0; attempt < 16 && m_temp.empty(); ++attempt) {
        std::string name =
            m_dir + fmt::format(".stasis-export-{}-{}", ::getpid(), attempt);
        const auto proc = fmt::format("/proc/self/fd/{}", m_fd.get());
        if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) ==
            0) {
          m_temp = name;
        } else if (errno != EEXIST) {
          return fmt::format("cannot write {}: {}", m_file, std::strerror(errno));
        }
      }
    }
    if (m_temp.empty() || ::rename(m_temp.c_str(), m_file.c_str()) != 0) {
      return fmt::format("cannot write {}: {}", m_file, std::strerror(errno));
    }
    m_temp.clear();
    return std::nullopt;
  }

private:
  std::string m_file;
  std::string m_dir;
  std::string m_temp;
  bool m_unnamed = false;
  util::UniqueFd m_fd;
};

} // namespace

void export_file(GlobalOptions& options, const std::string& job, const std::string& id,
                 const std::string& file) {
  ExportTarget target(file);
  if (auto problem = target.open()) {
    std::cerr << "stasisctl: " << *problem << "\n";
    options.exit_code = k_exit_failure;
    return;
  }
  std::string exported = id;
  WaitArgs wait;
  run_and_wait(
      options, wait,
      [&](dbus::Client& c) -> dbus::CResult<std::string> {
        exported = STASIS_TRY(resolve_checkpoint(c, job, id));
        return c.export_checkpoint(job, exported, target.fd());
      },
      [&](dbus::Client&, const manager::RunFinishedEvent&) {
        if (auto problem = target.commit()) {
          std::cerr << "stasisctl: " << *problem << "\n";
          options.exit_code = k_exit_failure;
          return;
        }
        if (options.json) {
          std::cout << json{{"job", job}, {"id", exported}, {"path", file}}.dump()
                    << "\n";
        }
      });
}

void import_file(GlobalOptions& options, const std::string& file,
                 const std::string& job) {
  util::UniqueFd fd(file == "-" ? ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3)
                                : ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    std::cerr << fmt::format("stasisctl: cannot open {}: {}\n", file,
                             std::strerror(errno));
    options.exit_code = k_exit_not_found;
    return;
  }
  WaitArgs wait;
  run_and_wait(
      options, wait, [&](dbus::Client& c) { return c.import_checkpoint(fd.get(), job); },
      print_finished_run(options, [](const manager::RunInfo& run) {
        std::cout << fmt::format("imported as {}/{} ({} newly stored)\n", run.job,
                                 run.checkpoint, format_bytes(run.stored_bytes));
      }));
}

void fsck(GlobalOptions& options, bool verify_data) {
  auto r = call_daemon(options, [&](dbus::Client& c) { return c.fsck(verify_data); });
  if (!r) {
    return;
  }
  if (options.json) {
    std::cout << json{{"ok", r->ok},
                      {"packs", r->packs},
                      {"blobs", r->blobs},
                      {"checkpoints", r->checkpoints},
                      {"temp_files_removed", r->temp_files_removed},
                      {"orphan_packs_removed", r->orphan_packs_removed},
                      {"problems", r->problems}}
                     .dump(2)
              << "\n";
  } else {
    for (const auto& p : r->problems) {
      std::cout << "PROBLEM " << p << "\n";
    }
    std::cout << fmt::format("{} packs, {} blobs, {} checkpoints; removed {} temporary "
                             "files and {} unused packs: {}\n",
                             r->packs, r->blobs, r->checkpoints, r->temp_files_removed,
                             r->orphan_packs_removed, r->ok ? "clean" : "PROBLEMS");
  }
  if (!r->ok) {
    options.exit_code = k_exit_damaged;
  }
}

void gc(GlobalOptions& options) {
  auto r = call_daemon(options, [&](dbus::Client& c) { return c.collect_garbage(); });
  if (!r) {
    return;
  }
  if (options.json) {
    std::cout << json{{"packs_deleted", r->packs_deleted},
                      {"packs_repacked", r->packs_repacked},
                      {"bytes_freed", r->bytes_freed}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << fmt::format("{} packs deleted, {} repacked, {} freed\n",
                             r->packs_deleted, r->packs_repacked,
                             format_bytes(r->bytes_freed));
  }
}

} // namespace stasis::cli::via_daemon
