// Reading policy files and directories from disk.
#include "policy/loader.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

namespace stasis::policy {

namespace fs = std::filesystem;

namespace {

bool is_policy_file(const fs::path& path) {
  const auto extension = path.extension();
  return extension == ".yaml" || extension == ".yml";
}

// Appends the policy files of a directory, in name order.
void list_directory(const fs::path& directory, std::vector<fs::path>& files,
                    Diagnostics& diagnostics) {
  std::error_code ec;
  std::vector<fs::path> found;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (is_policy_file(it->path()) && !it->path().filename().string().starts_with(".")) {
      found.push_back(it->path());
    }
  }
  if (ec) {
    diagnostics.push_back(
        Diagnostic{directory.string(), 0, 0,
                   fmt::format("cannot read directory: {}", ec.message())});
    return;
  }
  std::sort(found.begin(), found.end());
  files.insert(files.end(), found.begin(), found.end());
}

} // namespace

Result<PolicySet, Diagnostics> load_policy_files(const std::vector<fs::path>& files) {
  Diagnostics diagnostics;
  std::vector<PolicySource> sources;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::error_code ec;
    if (!in || fs::is_directory(file, ec)) {
      diagnostics.push_back(Diagnostic{
          file.string(), 0, 0,
          fs::exists(file, ec) ? "cannot read the file" : "no such file or directory"});
      continue;
    }
    std::ostringstream text;
    text << in.rdbuf();
    sources.push_back(PolicySource{file.string(), text.str()});
  }
  auto result = parse_policy_sources(sources);
  if (diagnostics.empty()) {
    return result;
  }
  if (!result) {
    diagnostics.insert(diagnostics.end(), result.error().begin(), result.error().end());
  }
  sort_diagnostics(diagnostics);
  return Unexpected<Diagnostics>(std::move(diagnostics));
}

Result<PolicySet, Diagnostics> load_policy_dir(const fs::path& directory) {
  return load_policy_paths({directory});
}

Result<PolicySet, Diagnostics> load_policy_paths(const std::vector<fs::path>& paths) {
  Diagnostics diagnostics;
  std::vector<fs::path> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      list_directory(path, files, diagnostics);
    } else {
      files.push_back(path);
    }
  }
  if (!diagnostics.empty()) {
    auto rest = load_policy_files(files);
    if (!rest) {
      diagnostics.insert(diagnostics.end(), rest.error().begin(), rest.error().end());
    }
    sort_diagnostics(diagnostics);
    return Unexpected<Diagnostics>(std::move(diagnostics));
  }
  return load_policy_files(files);
}

} // namespace stasis::policy
