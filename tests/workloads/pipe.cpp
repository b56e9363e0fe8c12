// stasis-wl-pipe: the parent forks a child and writes an increasing sequence of
// u64 (1, 2, 3, ...) into a pipe; the child checks each value is exactly the
// previous + 1 and reports its last-seen value back over a second pipe (or
// k_broken once the sequence broke). Verification checks that the child is
// alive, the sequence never broke and the child confirms everything sent so far
// (so `received` advances; waiting up to 1 s).
// Status adds sent, received, child_pid.
// With --self-test-corrupt, SIGUSR2 skips one value of the sequence.
#include "tests/workloads/workload_common.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <signal.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace stasis::workloads {
namespace {

constexpr std::uint64_t k_broken = ~std::uint64_t{0};
constexpr std::size_t k_batch = 64; // 512 bytes: below PIPE_BUF, so writes are atomic.

// Reads whole u64 values from fd into out; returns the count, 0 on EOF, -1 on error.
// Partial values stay in carry/carried across calls.
ssize_t read_values(int fd, std::uint64_t* out, std::size_t max,
                    std::array<unsigned char, 8>& carry, std::size_t& carried) {
  std::array<unsigned char, k_batch * 8 + 8> buffer{};
  std::memcpy(buffer.data(), carry.data(), carried);
  const ssize_t n = ::read(fd, buffer.data() + carried, std::min(max, k_batch) * 8);
  if (n <= 0) {
    return n;
  }
  const std::size_t total = carried + static_cast<std::size_t>(n);
  const std::size_t values = total / 8;
  std::memcpy(out, buffer.data(), values * 8);
  carried = total % 8;
  std::memcpy(carry.data(), buffer.data() + values * 8, carried);
  return static_cast<ssize_t>(values);
}

bool write_value(int fd, std::uint64_t value) {
  for (;;) {
    const ssize_t n = ::write(fd, &value, sizeof value);
    if (n == sizeof value) {
      return true;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return false;
  }
}

[[noreturn]] void child_main(int from_parent, int to_parent) {
  std::array<unsigned char, 8> carry{};
  std::size_t carried = 0;
  std::array<std::uint64_t, k_batch> values{};
  std::uint64_t last = 0;
  bool broken = false;
  for (;;) {
    const ssize_t n =
        read_values(from_parent, values.data(), values.size(), carry, carried);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ::_exit(0); // The parent closed the pipe (or is gone).
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (values[static_cast<std::size_t>(i)] != last + 1) {
        broken = true;
      }
      last = values[static_cast<std::size_t>(i)];
    }
    if (!write_value(to_parent, broken ? k_broken : last)) {
      ::_exit(1);
    }
  }
}

class PipeProgram final : public Program {
public:
  PipeProgram() {
    int down[2];
    int up[2];
    if (::pipe2(down, O_CLOEXEC) != 0 || ::pipe2(up, O_CLOEXEC) != 0) {
      throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    }
    m_child = fork_helper();
    if (m_child == 0) {
      ::close(down[1]);
      ::close(up[0]);
      child_main(down[0], up[1]);
    }
    ::close(down[0]);
    ::close(up[1]);
    m_to_child = down[1];
    m_from_child = up[0];
    ::fcntl(m_to_child, F_SETFL, O_NONBLOCK);
    ::fcntl(m_from_child, F_SETFL, O_NONBLOCK);
  }
  ~PipeProgram() override { shutdown(); }

  void tick() override { pump(); }

  std::string verify() override {
    pump();
    if (!child_alive()) {
      return "child " + std::to_string(m_child) + " is gone";
    }
    if (!m_error.empty()) {
      return m_error;
    }
    // The child must confirm everything sent so far (which also proves that
    // `received` advances): a break report arrives before that, never after.
    const std::uint64_t target = std::max(m_sent, m_last_verified + 1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (m_received < target) {
      if (std::chrono::steady_clock::now() >= deadline) {
        return "received stayed at " + std::to_string(m_received) + " for 1 s (sent " +
               std::to_string(m_sent) + ")";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      pump();
      if (!m_error.empty()) {
        return m_error;
      }
      if (!child_alive()) {
        return "child " + std::to_string(m_child) + " is gone";
      }
    }
    if (m_received > m_sent) {
      return "received " + std::to_string(m_received) + " is ahead of sent " +
             std::to_string(m_sent);
    }
    m_last_verified = m_received;
    return {};
  }

  void step(bool corrupt) override {
    if (corrupt) {
      ++m_next; // Skip one value: the child must notice.
    }
  }

  void report(Status& status) const override {
    status.set("sent", m_sent);
    status.set("received", m_received);
    status.set("child_pid", static_cast<std::uint64_t>(m_child));
  }

  void shutdown() override {
    if (m_to_child >= 0) {
      ::close(m_to_child);
      m_to_child = -1;
    }
    if (m_from_child >= 0) {
      ::close(m_from_child);
      m_from_child = -1;
    }
    if (m_child > 0) {
      for (int i = 0; i < 100 && ::waitpid(m_child, nullptr, WNOHANG) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (::kill(m_child, SIGKILL) == 0) {
        ::waitpid(m_child, nullptr, 0);
      }
      m_child = -1;
    }
  }

private:
  bool child_alive() {
    if (m_child_exited) {
      return false;
    }
    int status = 0;
    const pid_t r = ::waitpid(m_child, &status, WNOHANG);
    if (r == m_child || (r < 0 && errno == ECHILD)) {
      m_child_exited = true;
      return false;
    }
    return true;
  }

  // Sends the next batch (as much as fits) and drains the child's reports.
  void pump() {
    for (std::size_t i = 0; i < k_batch && m_to_child >= 0; ++i) {
      const ssize_t n = ::write(m_to_child, &m_next, sizeof m_next);
      if (n != sizeof m_next) {
        if (n < 0 && errno == EPIPE && m_error.empty()) {
          m_error = "child closed the pipe";
        }
        break;
      }
      m_sent = m_next++;
    }
    std::array<std::uint64_t, k_batch> values{};
    for (;;) {
      const ssize_t n =
          read_values(m_from_child, values.data(), values.size(), m_carry, m_carried);
      if (n <= 0) {
        break;
      }
      for (ssize_t i = 0; i < n; ++i) {
        const std::uint64_t value = values[static_cast<std::size_t>(i)];
        if (value == k_broken) {
          if (m_error.empty()) {
            m_error =
                "child saw the sequence break after value " + std::to_string(m_received);
          }
        } else {
          m_received = value;
        }
      }
    }
  }

  pid_t m_child = -1;
  bool m_child_exited = false;
  int m_to_child = -1;
  int m_from_child = -1;
  std::uint64_t m_next = 1;
  std::uint64_t m_sent = 0;
  std::uint64_t m_received = 0;
  std::uint64_t m_last_verified = 0;
  std::string m_error;
  std::array<unsigned char, 8> m_carry{};
  std::size_t m_carried = 0;
};

} // namespace
} // namespace stasis::workloads

int main(int argc, char** argv) {
  using namespace stasis::workloads;
  return workload_main(argc, argv, {}, [](const Options&) -> std::unique_ptr<Program> {
    return std::make_unique<PipeProgram>();
  });
}
