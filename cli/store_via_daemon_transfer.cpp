// export and import through stasisd (store_via_daemon.hpp): the file is
// opened by stasisctl with the caller's rights and only its descriptor is sent.
#include "cli/daemon_client.hpp"
#include "cli/run_wait.hpp"
#include "cli/store_via_daemon.hpp"
#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <optional>
#include <unistd.h>

namespace stasis::cli::via_daemon {

using nlohmann::json;

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
        // With FILE "-" standard output holds the export itself.
        if (options.json && file != "-") {
          std::cout << json{{"job", job}, {"id", exported}, {"path", file}}.dump(2)
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
      print_finished_run(options, [&options](const manager::RunInfo& run) {
        if (options.quiet) {
          std::cout << run.checkpoint << "\n";
          return;
        }
        std::cout << fmt::format("imported as {}/{} ({} newly stored)\n", run.job,
                                 run.checkpoint, format_bytes(run.stored_bytes));
      }));
}

} // namespace stasis::cli::via_daemon
