// stasis-wl-holder --open PATH: holds PATH open for reading, as a program
// holds its data or configuration file. Verification re-reads the file through
// the descriptor and checks it holds what it held when the program started;
// status adds `held=` (the first 64 bytes read through the descriptor, hex) and
// `held_path=` (what /proc/self/fd says the descriptor is).
//
// The attack tests of restores use it: a restore that reopened the path as
// root through a symlink the user planted would give this program another
// (root-only) file, and both keys would show it.
#include "tests/workloads/workload_common.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace stasis::workloads {
namespace {

constexpr std::size_t k_shown_bytes = 64;

class HolderProgram final : public Program {
public:
  explicit HolderProgram(const std::string& path)
      : m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (m_fd < 0) {
      throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    }
    m_first = read_through_fd();
  }
  ~HolderProgram() override { ::close(m_fd); }

  void tick() override {}

  std::string verify() override {
    const std::string now = read_through_fd();
    if (now != m_first) {
      return "the held file changed: it held " + hex(m_first) + ", now " + hex(now);
    }
    return {};
  }

  void step(bool corrupt) override {
    if (corrupt) {
      m_first += "x";
    }
  }

  void report(Status& status) const override {
    status.set("held", hex(read_through_fd()));
    char target[4096] = {};
    const std::string link = "/proc/self/fd/" + std::to_string(m_fd);
    const ssize_t got = ::readlink(link.c_str(), target, sizeof target - 1);
    status.set("held_path", got > 0 ? std::string(target, static_cast<std::size_t>(got))
                                    : std::string("?"));
  }

private:
  std::string read_through_fd() const {
    char buffer[k_shown_bytes];
    const ssize_t got = ::pread(m_fd, buffer, sizeof buffer, 0);
    return got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : std::string();
  }

  static std::string hex(const std::string& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char c : bytes) {
      out += digits[c >> 4];
      out += digits[c & 15];
    }
    return out;
  }

  int m_fd;
  std::string m_first;
};

} // namespace
} // namespace stasis::workloads

int main(int argc, char** argv) {
  using namespace stasis::workloads;
  return workload_main(argc, argv, {"open"},
                       [](const Options& options) -> std::unique_ptr<Program> {
                         auto path = options.extra.find("open");
                         if (path == options.extra.end()) {
                           throw std::runtime_error("--open PATH is required");
                         }
                         return std::make_unique<HolderProgram>(path->second);
                       });
}
