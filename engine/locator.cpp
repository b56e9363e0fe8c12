#include "engine/locator.hpp"

#include <cstdlib>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#ifndef STASIS_CRIU_DEFAULT_PATH
#define STASIS_CRIU_DEFAULT_PATH "/opt/stasis/criu/bin/criu"
#endif

namespace stasis::engine {
namespace {

// Returns an empty string when `path` is an executable regular file, else why not.
std::string why_unusable(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return "does not exist";
  }
  if (!std::filesystem::is_regular_file(status)) {
    return "is not a regular file";
  }
  if (::access(path.c_str(), X_OK) != 0) {
    return "is not executable";
  }
  return {};
}

} // namespace

std::filesystem::path default_criu_path() {
  return STASIS_CRIU_DEFAULT_PATH;
}

Result<std::filesystem::path>
locate_criu(std::optional<std::filesystem::path> explicit_path) {
  if (explicit_path && !explicit_path->empty()) {
    if (auto why = why_unusable(*explicit_path); !why.empty()) {
      return make_error("the configured criu binary {} {}", explicit_path->string(), why);
    }
    return *explicit_path;
  }
  if (const char* env = std::getenv("STASIS_CRIU"); env != nullptr && *env != '\0') {
    if (auto why = why_unusable(env); !why.empty()) {
      return make_error("STASIS_CRIU={} {}; unset it or point it at a criu binary", env,
                        why);
    }
    return std::filesystem::path(env);
  }
  std::vector<std::string> tried;
  const auto private_criu = default_criu_path();
  if (auto why = why_unusable(private_criu); why.empty()) {
    return private_criu;
  } else {
    tried.push_back(fmt::format("{} ({})", private_criu.string(), why));
  }
  const char* path_env = std::getenv("PATH");
  std::string path_list = path_env != nullptr ? path_env : "";
  std::size_t start = 0;
  while (start <= path_list.size()) {
    std::size_t end = path_list.find(':', start);
    if (end == std::string::npos) {
      end = path_list.size();
    }
    std::string dir = path_list.substr(start, end - start);
    start = end + 1;
    if (dir.empty()) {
      continue;
    }
    auto candidate = std::filesystem::path(dir) / "criu";
    if (why_unusable(candidate).empty()) {
      return candidate;
    }
  }
  tried.push_back(
      fmt::format("criu in PATH ({})", path_list.empty() ? "PATH is empty" : path_list));
  std::string list;
  for (const auto& entry : tried) {
    list += (list.empty() ? "" : ", ") + entry;
  }
  return make_error("criu not found: tried $STASIS_CRIU (unset), {}; install CRIU with "
                    "scripts/provision-criu.sh or set STASIS_CRIU",
                    list);
}

} // namespace stasis::engine
