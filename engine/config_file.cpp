#include "engine/config_file.hpp"

#include "util/log.hpp"
#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace stasis::engine {
namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return lines;
}

} // namespace

std::string config_lines(const DumpOptions& options) {
  std::string lines;
  if (options.ghost_fiemap) {
    lines += *options.ghost_fiemap ? "ghost-fiemap\n" : "no-ghost-fiemap\n";
  }
  return lines;
}

Result<void> attach_config(int work_dir_fd, std::string_view lines, wire::Options& opts) {
  if (lines.empty()) {
    return {};
  }
  const std::string name(k_options_config_name);
  util::UniqueFd file(::openat(work_dir_fd, name.c_str(),
                               O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                               0644));
  if (!file) {
    return make_error("cannot create the CRIU configuration file {}: {}", name,
                      std::strerror(errno));
  }
  if (::write(file.get(), lines.data(), lines.size()) !=
      static_cast<ssize_t>(lines.size())) {
    return make_error("cannot write the CRIU configuration file {}: {}", name,
                      std::strerror(errno));
  }
  opts.set_config_file(fmt::format("/proc/self/fd/{}/{}", work_dir_fd, name));
  log::get("engine")->info("CRIU options without an RPC field, passed in {}: {}", name,
                           fmt::join(split_lines(lines), ", "));
  return {};
}

} // namespace stasis::engine
