#include "manager/dump_progress.hpp"

#include "engine/read_file.hpp"
#include "engine/target.hpp"

#include <charconv>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::manager {
namespace {

// Largest /proc/PID/status read.
constexpr std::size_t k_max_status_bytes = 64 * 1024;

// The kB value of a "Name:   123 kB" line of status, or 0.
std::uint64_t status_kb(std::string_view status, std::string_view name) {
  std::size_t at = 0;
  while (at < status.size()) {
    const auto end = std::min(status.find('\n', at), status.size());
    const auto line = status.substr(at, end - at);
    at = end + 1;
    if (line.size() <= name.size() || line.substr(0, name.size()) != name ||
        line[name.size()] != ':') {
      continue;
    }
    auto digits = line.substr(name.size() + 1);
    digits.remove_prefix(std::min(digits.find_first_not_of(" \t"), digits.size()));
    std::uint64_t kb = 0;
    auto [ptr, error] = std::from_chars(digits.data(), digits.data() + digits.size(), kb);
    return error == std::errc() && kb < (1ULL << 50) ? kb : 0;
  }
  return 0;
}

bool is_pages_image(std::string_view name) {
  return name.size() > 10 && name.starts_with("pages-") && name.ends_with(".img");
}

} // namespace

std::uint64_t resident_private_bytes(const std::string& status) {
  return (status_kb(status, "RssAnon") + status_kb(status, "RssShmem")) * 1024;
}

std::uint64_t expected_dump_bytes(pid_t root) {
  auto processes = engine::descendants_of(root);
  processes.insert(processes.begin(), root);
  if (processes.size() > k_max_progress_processes) {
    processes.resize(k_max_progress_processes);
  }
  std::uint64_t total = 0;
  for (const pid_t pid : processes) {
    if (auto status =
            engine::read_file(fmt::format("/proc/{}/status", pid), k_max_status_bytes)) {
      total += resident_private_bytes(*status);
    }
  }
  return total;
}

std::uint64_t pages_bytes_in(int dir_fd) {
  const int copy = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  DIR* stream = copy < 0 ? nullptr : ::fdopendir(copy);
  if (stream == nullptr) {
    if (copy >= 0) {
      ::close(copy);
    }
    return 0;
  }
  std::unique_ptr<DIR, int (*)(DIR*)> closer(stream, ::closedir);
  ::rewinddir(stream); // the copy shares the offset of earlier measurements
  std::uint64_t bytes = 0;
  std::size_t entries = 0;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    if (++entries > k_max_progress_entries) {
      break; // a dir CRIU never writes: what was counted is shown
    }
    if (!is_pages_image(name)) {
      continue;
    }
    struct stat st {};
    if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG(st.st_mode) && st.st_size > 0) {
      bytes += static_cast<std::uint64_t>(st.st_size);
    }
  }
  return bytes;
}

DumpProgress::DumpProgress(std::function<std::uint64_t()> done, std::uint64_t total,
                           Report report)
    : m_done(std::move(done)), m_total(total), m_report(std::move(report)) {
  m_report(0, m_total);
  m_thread = std::jthread([this](std::stop_token stop) {
    std::unique_lock lock(m_mutex);
    for (;;) {
      m_wake.wait_for(lock, stop, k_dump_progress_poll, [] { return false; });
      if (stop.stop_requested()) {
        return;
      }
      const std::uint64_t now_done = m_done();
      m_total = std::max(m_total, now_done);
      m_report(now_done, m_total);
    }
  });
}

DumpProgress::~DumpProgress() {
  stop();
}

void DumpProgress::stop() {
  if (m_thread.joinable()) {
    m_thread.request_stop();
    m_thread.join();
  }
}

void DumpProgress::finish() {
  stop();
  const std::uint64_t done = m_done();
  m_report(done, done);
}

} // namespace stasis::manager
