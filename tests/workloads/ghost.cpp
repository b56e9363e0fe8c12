// stasis-wl-ghost --bytes N [--hard-link yes]: writes N bytes of a
// known pattern to a scratch file in its working directory, keeps it open and
// unlinks it. With --hard-link yes the file keeps a second name
// (scratch.link), so it is "unlinked but still linked" (CRIU's link-remap
// case); otherwise it is deleted for good (a ghost file, up to ghost-limit).
// Verification re-reads the whole content through the open descriptor and
// checks the link count. Status adds `bytes=` and `nlink=`.
// With --self-test-corrupt, SIGUSR2 overwrites a byte of the file.
#include "tests/workloads/workload_common.hpp"

#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace stasis::workloads {
namespace {

unsigned char pattern(std::uint64_t offset) {
  return static_cast<unsigned char>((offset * 131 + offset / 4096 + 7) & 0xff);
}

class DeletedFileProgram final : public Program {
public:
  DeletedFileProgram(std::uint64_t bytes, bool hard_link)
      : m_bytes(bytes), m_links(hard_link ? 1 : 0) {
    ::unlink("scratch");
    ::unlink("scratch.link");
    m_fd = ::open("scratch", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (m_fd < 0) {
      throw std::runtime_error("cannot create ./scratch");
    }
    std::vector<unsigned char> chunk(64 * 1024);
    for (std::uint64_t done = 0; done < m_bytes;) {
      const auto n = std::min<std::uint64_t>(chunk.size(), m_bytes - done);
      for (std::uint64_t i = 0; i < n; ++i) {
        chunk[i] = pattern(done + i);
      }
      if (::pwrite(m_fd, chunk.data(), n, static_cast<off_t>(done)) !=
          static_cast<ssize_t>(n)) {
        throw std::runtime_error("cannot write ./scratch");
      }
      done += n;
    }
    if (hard_link && ::link("scratch", "scratch.link") != 0) {
      throw std::runtime_error("cannot link ./scratch.link");
    }
    ::unlink("scratch");
  }
  ~DeletedFileProgram() override { ::close(m_fd); }

  void tick() override {}

  std::string verify() override {
    struct stat st {};
    if (::fstat(m_fd, &st) != 0) {
      return "fstat of the deleted file failed";
    }
    if (static_cast<std::uint64_t>(st.st_size) != m_bytes) {
      return "size " + std::to_string(st.st_size) + " != " + std::to_string(m_bytes);
    }
    if (st.st_nlink != m_links) {
      return "link count " + std::to_string(st.st_nlink) +
             " != " + std::to_string(m_links);
    }
    std::vector<unsigned char> chunk(64 * 1024);
    for (std::uint64_t done = 0; done < m_bytes;) {
      const auto n = std::min<std::uint64_t>(chunk.size(), m_bytes - done);
      if (::pread(m_fd, chunk.data(), n, static_cast<off_t>(done)) !=
          static_cast<ssize_t>(n)) {
        return "short read at " + std::to_string(done);
      }
      for (std::uint64_t i = 0; i < n; ++i) {
        if (chunk[i] != pattern(done + i)) {
          return "wrong byte at offset " + std::to_string(done + i);
        }
      }
      done += n;
    }
    return {};
  }

  void step(bool corrupt) override {
    if (corrupt && m_bytes > 0) {
      const unsigned char bad = static_cast<unsigned char>(~pattern(0));
      [[maybe_unused]] auto written = ::pwrite(m_fd, &bad, 1, 0);
    }
  }

  void report(Status& status) const override {
    status.set("bytes", m_bytes);
    status.set("nlink", static_cast<std::uint64_t>(m_links));
  }

private:
  std::uint64_t m_bytes;
  nlink_t m_links;
  int m_fd = -1;
};

} // namespace
} // namespace stasis::workloads

int main(int argc, char** argv) {
  using namespace stasis::workloads;
  return workload_main(argc, argv, {"bytes", "hard-link"},
                       [](const Options& options) -> std::unique_ptr<Program> {
                         auto bytes = options.extra.find("bytes");
                         auto link = options.extra.find("hard-link");
                         return std::make_unique<DeletedFileProgram>(
                             bytes == options.extra.end() ? 4096
                                                          : parse_size(bytes->second),
                             link != options.extra.end() && link->second == "yes");
                       });
}
