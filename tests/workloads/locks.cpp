// stasis-wl-locks --lock-dir DIR: holds an exclusive flock(2) on DIR/flock.lock
// and an exclusive POSIX (fcntl) write lock on DIR/posix.lock for its whole
// life. Verification checks that both are still held: a second open file
// description of flock.lock cannot take the flock, and /proc/locks lists a
// POSIX write lock of this pid on posix.lock's inode. (Opening and closing
// posix.lock again would drop the POSIX lock, so that check reads /proc/locks.)
// Status adds flock_path, posix_path.
// With --self-test-corrupt, SIGUSR2 releases the flock.
#include "tests/workloads/workload_common.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::workloads {
namespace {

namespace fs = std::filesystem;

int open_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw std::runtime_error("open " + path.string() + ": " + std::strerror(errno));
  }
  return fd;
}

// True if /proc/locks lists a POSIX write lock of pid on the inode.
bool posix_lock_listed(pid_t pid, ino_t inode) {
  std::ifstream in("/proc/locks");
  std::string line;
  while (std::getline(in, line)) {
    // "1: POSIX  ADVISORY  WRITE 1517 fe:00:1126168 0 EOF"
    std::istringstream words(line);
    std::string number, kind, mode, access, device;
    long holder = 0;
    if (!(words >> number >> kind >> mode >> access >> holder >> device)) {
      continue;
    }
    const auto colon = device.rfind(':');
    if (kind == "POSIX" && access == "WRITE" && holder == pid &&
        colon != std::string::npos &&
        device.substr(colon + 1) == std::to_string(static_cast<unsigned long>(inode))) {
      return true;
    }
  }
  return false;
}

class LocksProgram final : public Program {
public:
  explicit LocksProgram(const fs::path& dir)
      : m_flock_path(dir / "flock.lock"), m_posix_path(dir / "posix.lock") {
    fs::create_directories(dir);
    m_flock_fd = open_file(m_flock_path);
    if (::flock(m_flock_fd, LOCK_EX | LOCK_NB) != 0) {
      throw std::runtime_error("flock " + m_flock_path.string() + ": " +
                               std::strerror(errno));
    }
    m_posix_fd = open_file(m_posix_path);
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (::fcntl(m_posix_fd, F_SETLK, &lock) != 0) {
      throw std::runtime_error("fcntl(F_SETLK) " + m_posix_path.string() + ": " +
                               std::strerror(errno));
    }
  }
  ~LocksProgram() override { shutdown(); }

  void tick() override {}

  std::string verify() override {
    const int probe = ::open(m_flock_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (probe < 0) {
      return "cannot open " + m_flock_path.string() + ": " + std::strerror(errno);
    }
    const bool taken = ::flock(probe, LOCK_EX | LOCK_NB) == 0;
    const int error = errno;
    ::close(probe);
    if (taken) {
      return "the flock on " + m_flock_path.string() + " is no longer held";
    }
    if (error != EWOULDBLOCK) {
      return "flock probe failed: " + std::string(std::strerror(error));
    }
    struct stat st {};
    if (::fstat(m_posix_fd, &st) != 0) {
      return "fstat " + m_posix_path.string() + ": " + std::strerror(errno);
    }
    if (!posix_lock_listed(::getpid(), st.st_ino)) {
      return "/proc/locks lists no POSIX write lock of pid " +
             std::to_string(::getpid()) + " on " + m_posix_path.string();
    }
    return {};
  }

  void step(bool corrupt) override {
    if (corrupt) {
      ::flock(m_flock_fd, LOCK_UN);
    }
  }

  void report(Status& status) const override {
    status.set("flock_path", m_flock_path.string());
    status.set("posix_path", m_posix_path.string());
  }

  void shutdown() override {
    for (int* fd : {&m_flock_fd, &m_posix_fd}) {
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
    }
  }

private:
  fs::path m_flock_path;
  fs::path m_posix_path;
  int m_flock_fd = -1;
  int m_posix_fd = -1;
};

} // namespace
} // namespace stasis::workloads

int main(int argc, char** argv) {
  using namespace stasis::workloads;
  return workload_main(argc, argv, {"lock-dir"},
                       [](const Options& options) -> std::unique_ptr<Program> {
                         const auto dir = options.extra.find("lock-dir");
                         if (dir == options.extra.end()) {
                           throw std::invalid_argument("--lock-dir DIR is required");
                         }
                         return std::make_unique<LocksProgram>(dir->second);
                       });
}
