#include "engine/engine_error.hpp"

#include "util/unique_fd.hpp"

#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::engine {
namespace {

// How much of a log's end we read to find its last errors.
constexpr off_t k_log_tail_bytes = 256 * 1024;

// CRIU 4.2 always logs this when CAP_SYS_RESOURCE is missing; it is harmless.
bool is_harmless(std::string_view text) {
  return text.find("rlimit:") != std::string_view::npos &&
         text.find("RLIMIT_NOFILE") != std::string_view::npos;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() &&
         (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  while (!text.empty() && text.front() == ' ') {
    text.remove_prefix(1);
  }
  return text;
}

std::string join(const std::vector<std::string>& lines, std::string_view separator) {
  std::string out;
  for (const auto& line : lines) {
    if (!out.empty()) {
      out += separator;
    }
    out += line;
  }
  return out;
}

// CRIU's reports of a restored task that ended while the restore ran
// ("1234 killed by signal 9: Killed", "1234 exited, status=1"), reworded so
// that they say what happened: a task of the tree failed at a restore step,
// or CRIU killed the tree it had half restored once the restore failed. As
// CRIU words them, they read as if something had killed the program.
std::string explain(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  if (digits == 0) {
    return std::string(text);
  }
  const auto pid = text.substr(0, digits);
  const auto rest = text.substr(digits);
  constexpr std::string_view k_killed = " killed by signal 9";
  constexpr std::string_view k_exited = " exited, status=";
  if (rest.starts_with(k_killed)) {
    return fmt::format("the restore failed, so CRIU killed process {} of the tree it had "
                       "half restored (signal 9); the program was not running yet",
                       pid);
  }
  if (rest.starts_with(k_exited)) {
    return fmt::format("process {} of the tree being restored gave up with status {} "
                       "(a restore step in it failed; see the lines before)",
                       pid, rest.substr(k_exited.size()));
  }
  return std::string(text);
}

} // namespace

const char* to_string(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::InvalidOptions:
    return "invalid options";
  case ErrorKind::CriuNotFound:
    return "criu not found";
  case ErrorKind::Unsupported:
    return "unsupported";
  case ErrorKind::System:
    return "system error";
  case ErrorKind::Protocol:
    return "protocol error";
  case ErrorKind::WorkerDied:
    return "worker died";
  case ErrorKind::Criu:
    return "criu failed";
  case ErrorKind::NotifyRefused:
    return "notify refused";
  case ErrorKind::TimedOut:
    return "timed out";
  case ErrorKind::Cancelled:
    return "cancelled";
  }
  return "unknown";
}

EngineError::EngineError(ErrorKind error_kind, std::string what_failed, std::string why)
    : kind(error_kind), what(std::move(what_failed)), reason(std::move(why)) {}

std::string EngineError::message() const {
  std::string detail;
  if (!reason.empty()) {
    detail = reason;
  }
  if (!log_errors.empty()) {
    detail += detail.empty() ? "CRIU: " : "; CRIU: ";
    detail += join(log_errors, "; ");
  } else if (!cr_errmsg.empty() && !is_harmless(cr_errmsg)) {
    detail += detail.empty() ? "CRIU: " : "; CRIU: ";
    detail += cr_errmsg;
  }
  if (cr_errno != 0 && detail.find(std::strerror(cr_errno)) == std::string::npos) {
    detail += fmt::format("{}errno {} ({})", detail.empty() ? "CRIU: " : " - ", cr_errno,
                          std::strerror(cr_errno));
  }
  if (detail.empty()) {
    detail = to_string(kind);
  }
  std::string out = what.empty() ? detail : fmt::format("{}: {}", what, detail);
  if (!log_file.empty()) {
    out += fmt::format(" (see {})", log_file.string());
  }
  return out;
}

std::vector<std::string> parse_log_errors(std::string_view log_text,
                                          std::size_t max_lines) {
  std::vector<std::string> found;
  std::size_t start = 0;
  while (start < log_text.size()) {
    std::size_t end = log_text.find('\n', start);
    if (end == std::string_view::npos) {
      end = log_text.size();
    }
    std::string_view line = log_text.substr(start, end - start);
    start = end + 1;
    // Lines look like "Error (criu/x.c:12): text", optionally after a
    // "(00.001234) " timestamp or a "pid: " prefix.
    const std::size_t tag = line.find("Error (");
    if (tag == std::string_view::npos) {
      continue;
    }
    const std::size_t close = line.find("): ", tag);
    std::string_view text =
        close == std::string_view::npos ? line.substr(tag) : line.substr(close + 3);
    text = trim(text);
    if (text.empty() || is_harmless(text)) {
      continue;
    }
    found.push_back(explain(text));
  }
  if (found.size() > max_lines) {
    found.erase(found.begin(), found.end() - static_cast<std::ptrdiff_t>(max_lines));
  }
  return found;
}

std::string hint_for(const std::vector<std::string>& log_errors) {
  constexpr std::string_view k_fork = "Can't fork for ";
  for (const auto& line : log_errors) {
    if (line.starts_with(k_fork) && line.find("File exists") != std::string::npos) {
      const auto pid = line.substr(k_fork.size(), line.find(':') - k_fork.size());
      return fmt::format("pid {} of the dumped tree is taken by another process (is the "
                         "original still running?)",
                         pid);
    }
  }
  return {};
}

std::vector<std::string> read_log_errors(const std::filesystem::path& log_file,
                                         std::size_t max_lines) {
  // The log dir of a user's worker is hers: no link, no FIFO, regular files.
  util::UniqueFd fd(
      ::open(log_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return {};
  }
  const off_t size = st.st_size;
  const off_t from = size > k_log_tail_bytes ? size - k_log_tail_bytes : 0;
  std::string text(static_cast<std::size_t>(size - from), '\0');
  const ssize_t got = ::pread(fd.get(), text.data(), text.size(), from);
  text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return parse_log_errors(text, max_lines);
}

} // namespace stasis::engine
