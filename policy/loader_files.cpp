// Reading policy files and directories from disk: each opened once, read from
// that descriptor (size first), and, given a rule, reached by a checked walk.
#include "policy/loader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>

#include <fmt/format.h>

namespace stasis::policy {

namespace fs = std::filesystem;

namespace {

bool is_policy_file(const std::string& name) {
  const auto extension = fs::path(name).extension();
  return (extension == ".yaml" || extension == ".yml") && !name.starts_with(".");
}

// Opens a path, or an entry of an opened directory, as any program would
// (symlinks followed): what validate does for a user's own files.
Result<util::WalkedFile> open_plain(const util::WalkedFile* directory,
                                    const std::string& name, util::WalkTarget target) {
  // A FIFO found in a directory must not block the listing.
  const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY |
                    (target == util::WalkTarget::Directory ? O_DIRECTORY : 0) |
                    (directory != nullptr ? O_NONBLOCK : 0);
  util::WalkedFile opened;
  opened.path = directory != nullptr ? directory->path + "/" + name : name;
  opened.fd.reset(directory != nullptr
                      ? ::openat(directory->fd.get(), name.c_str(), flags)
                      : ::open(name.c_str(), flags));
  if (!opened.fd || ::fstat(opened.fd.get(), &opened.st) != 0) {
    return make_error("cannot open {}: {}", opened.path, std::strerror(errno));
  }
  if (target == util::WalkTarget::RegularFile && S_ISDIR(opened.st.st_mode)) {
    return make_error("{} is a directory, not a file", opened.path);
  }
  return opened;
}

Result<util::WalkedFile> open_path(const util::WalkedFile* directory,
                                   const std::string& name, util::WalkTarget target,
                                   const util::StepCheck& rule) {
  if (!rule) {
    return open_plain(directory, name, target);
  }
  return directory != nullptr ? util::walk_open_at(*directory, name, target, rule)
                              : util::walk_open(name, target, rule);
}

// Collects sources and the errors of files that cannot be read.
class SourceReader {
public:
  explicit SourceReader(const util::StepCheck& rule) : m_rule(rule) {}

  // Reads one file (an entry of directory, when given); `shown` is the name
  // the diagnostics use.
  void read_file(const util::WalkedFile* directory, const std::string& name,
                 const std::string& shown) {
    auto opened = open_path(directory, name, util::WalkTarget::RegularFile, m_rule);
    if (!opened) {
      problem(shown, opened.error().message);
      return;
    }
    read_opened(*opened, shown);
  }

  // Reads a file or every policy file of a directory.
  void read_path(const fs::path& path, util::WalkTarget target) {
    auto opened = open_path(nullptr, path.string(), target, m_rule);
    if (!opened) {
      problem(path.string(), opened.error().message);
    } else if (S_ISDIR(opened->st.st_mode)) {
      read_directory(*opened, path.string());
    } else {
      read_opened(*opened, path.string());
    }
  }

  Diagnostics& diagnostics() { return m_diagnostics; }
  std::vector<PolicySource>& sources() { return m_sources; }

private:
  void problem(const std::string& file, std::string message) {
    m_diagnostics.push_back(Diagnostic{file, 0, 0, std::move(message)});
  }

  void read_opened(const util::WalkedFile& opened, const std::string& shown) {
    if (S_ISREG(opened.st.st_mode) &&
        static_cast<std::uintmax_t>(opened.st.st_size) > k_max_policy_file_size) {
      problem(shown, fmt::format("the file is {} bytes long, larger than the {} bytes a "
                                 "policy file may have: split it",
                                 opened.st.st_size, k_max_policy_file_size));
      return;
    }
    auto text = util::read_bounded(opened.fd.get(), k_max_policy_file_size);
    if (!text) {
      problem(shown, fmt::format("cannot read the file: {}", text.error().message));
      return;
    }
    m_sources.push_back(PolicySource{shown, std::move(*text)});
  }

  // The policy files of a directory, in name order.
  void read_directory(const util::WalkedFile& directory, const std::string& shown) {
    const int fd = ::fcntl(directory.fd.get(), F_DUPFD_CLOEXEC, 0);
    DIR* stream = fd >= 0 ? ::fdopendir(fd) : nullptr;
    if (stream == nullptr) {
      if (fd >= 0) {
        ::close(fd);
      }
      problem(shown, fmt::format("cannot read directory: {}", std::strerror(errno)));
      return;
    }
    std::vector<std::string> names;
    while (const dirent* entry = ::readdir(stream)) {
      if (is_policy_file(entry->d_name)) {
        names.emplace_back(entry->d_name);
      }
    }
    ::closedir(stream);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      read_file(&directory, name, (fs::path(shown) / name).string());
    }
  }

  const util::StepCheck& m_rule;
  Diagnostics m_diagnostics;
  std::vector<PolicySource> m_sources;
};

// Parses what was read; the read errors join the parse errors.
Result<PolicySet, Diagnostics> parse_read(SourceReader& reader) {
  auto result = parse_policy_sources(reader.sources());
  Diagnostics& diagnostics = reader.diagnostics();
  if (diagnostics.empty()) {
    return result;
  }
  if (!result) {
    diagnostics.insert(diagnostics.end(), result.error().begin(), result.error().end());
  }
  sort_diagnostics(diagnostics);
  return Unexpected<Diagnostics>(std::move(diagnostics));
}

} // namespace

Result<PolicySet, Diagnostics> load_policy_files(const std::vector<fs::path>& files,
                                                 const util::StepCheck& rule) {
  SourceReader reader(rule);
  for (const auto& file : files) {
    reader.read_file(nullptr, file.string(), file.string());
  }
  return parse_read(reader);
}

Result<PolicySet, Diagnostics> load_policy_dir(const fs::path& directory,
                                               const util::StepCheck& rule) {
  SourceReader reader(rule);
  reader.read_path(directory, util::WalkTarget::Directory);
  return parse_read(reader);
}

PartialPolicyLoad load_policy_dir_leniently(const fs::path& directory,
                                            const util::StepCheck& rule) {
  SourceReader reader(rule);
  reader.read_path(directory, util::WalkTarget::Directory);
  PartialPolicyLoad load;
  load.problems = std::move(reader.diagnostics());
  std::set<std::string> bad;
  for (const auto& problem : load.problems) {
    bad.insert(problem.file);
  }
  std::vector<PolicySource> good = std::move(reader.sources());
  // Each round leaves out at least one more file, or ends.
  while (!good.empty()) {
    auto parsed = parse_policy_sources(good);
    if (parsed) {
      load.set = std::move(*parsed);
      break;
    }
    std::set<std::string> failed;
    for (const auto& problem : parsed.error()) {
      failed.insert(problem.file);
    }
    std::vector<PolicySource> kept;
    for (auto& source : good) {
      if (!failed.contains(source.filename)) {
        kept.push_back(std::move(source));
      }
    }
    if (kept.size() == good.size()) {
      // Errors that name no file read (never expected): leave out everything.
      for (const auto& source : good) {
        failed.insert(source.filename);
      }
      kept.clear();
    }
    for (const auto& problem : parsed.error()) {
      if (failed.contains(problem.file)) {
        load.problems.push_back(problem);
      }
    }
    bad.insert(failed.begin(), failed.end());
    good = std::move(kept);
  }
  load.bad_files.assign(bad.begin(), bad.end());
  sort_diagnostics(load.problems);
  return load;
}

Result<PolicySet, Diagnostics> load_policy_paths(const std::vector<fs::path>& paths,
                                                 const util::StepCheck& rule) {
  SourceReader reader(rule);
  for (const auto& path : paths) {
    reader.read_path(path, util::WalkTarget::Either);
  }
  return parse_read(reader);
}

} // namespace stasis::policy
