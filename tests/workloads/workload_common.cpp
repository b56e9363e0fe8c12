#include "tests/workloads/workload_common.hpp"

#include "tests/workloads/status_format.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <fcntl.h>
#include <optional>
#include <signal.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <thread>
#include <unistd.h>

namespace stasis::workloads {
namespace {

constexpr std::uint64_t k_prime1 = 0x9E3779B185EBCA87ULL;
constexpr std::uint64_t k_prime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr std::uint64_t k_prime3 = 0x165667B19E3779F9ULL;

std::uint64_t rotl(std::uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

std::uint64_t lane_round(std::uint64_t acc, std::uint64_t word) {
  return rotl(acc + word * k_prime2, 31) * k_prime1;
}

sigset_t control_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

enum class Event { tick, verify, step, terminate };

// Waits for the next control signal or the end of the current interval.
class EventLoop {
public:
  explicit EventLoop(std::chrono::milliseconds interval)
      : m_interval_ns(interval.count() * 1'000'000), m_deadline(now_ns() + m_interval_ns),
        m_signals(control_signals()) {}

  Event next() {
    for (;;) {
      const std::int64_t left = m_deadline - now_ns();
      if (left <= 0) {
        // A pending signal first: a loop that is always behind (slow ticks,
        // --status-hold-ms) must still answer.
        const timespec now{0, 0};
        if (const auto event = to_event(sigtimedwait(&m_signals, nullptr, &now))) {
          return *event;
        }
        m_deadline += m_interval_ns;
        if (m_deadline <= now_ns()) {
          // Far behind (a long verification, or time passed while checkpointed).
          m_deadline = now_ns() + m_interval_ns;
        }
        return Event::tick;
      }
      const timespec timeout{static_cast<time_t>(left / 1'000'000'000),
                             static_cast<long>(left % 1'000'000'000)};
      if (const auto event = to_event(sigtimedwait(&m_signals, nullptr, &timeout))) {
        return *event;
      }
      // EAGAIN (timeout) or EINTR (e.g. after a restore): re-check the deadline.
    }
  }

private:
  static std::optional<Event> to_event(int sig) {
    if (sig == SIGUSR1) {
      return Event::verify;
    }
    if (sig == SIGUSR2) {
      return Event::step;
    }
    if (sig == SIGTERM || sig == SIGINT) {
      return Event::terminate;
    }
    return std::nullopt;
  }

  std::int64_t m_interval_ns;
  std::int64_t m_deadline;
  sigset_t m_signals;
};

Options parse_options(int argc, char** argv, const std::set<std::string>& extra_options) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--self-test-corrupt") {
      options.self_test_corrupt = true;
      continue;
    }
    std::string value;
    bool has_value = false;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    const bool known = arg == "--status" || arg == "--interval-ms" ||
                       arg == "--status-hold-ms" ||
                       (arg.starts_with("--") && extra_options.count(arg.substr(2)) > 0);
    if (!known) {
      throw std::invalid_argument("unknown option '" + arg + "'");
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        throw std::invalid_argument("option '" + arg + "' needs a value");
      }
      value = argv[++i];
    }
    if (arg == "--status") {
      options.status_file = value;
    } else if (arg == "--interval-ms") {
      const auto ms = parse_number(value, "--interval-ms");
      if (ms == 0 || ms > 60'000) {
        throw std::invalid_argument("--interval-ms must be between 1 and 60000");
      }
      options.interval = std::chrono::milliseconds(ms);
    } else if (arg == "--status-hold-ms") {
      options.status_hold = std::chrono::milliseconds(
          std::min<std::uint64_t>(parse_number(value, "--status-hold-ms"), 10'000));
    } else {
      options.extra[arg.substr(2)] = value;
    }
  }
  if (options.status_file.empty()) {
    throw std::invalid_argument("--status FILE is required");
  }
  return options;
}

} // namespace

void Status::set(std::string_view key, std::string value) {
  for (auto& [k, v] : m_lines) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  m_lines.emplace_back(std::string(key), std::move(value));
}

void Status::set(std::string_view key, std::uint64_t value) {
  set(key, std::to_string(value));
}

bool Status::write(const std::filesystem::path& file,
                   std::chrono::milliseconds hold_open) const {
  std::string text;
  for (const auto& [key, value] : m_lines) {
    text += key;
    text += '=';
    text += value;
    text += '\n';
  }
  const std::string sum = status_checksum(text);
  text += k_status_end_key;
  text += sum;
  text += '\n';
  if (text.size() > k_status_size) {
    return false;
  }
  text.resize(k_status_size, '\n');
  // In place when the file is already whole (see status_format.hpp); the first
  // write (and one after somebody removed the file) goes through a temp file so
  // that "status" never exists with another size. The workload is not dumped
  // before its first status exists.
  std::error_code ec;
  const bool whole = std::filesystem::file_size(file, ec) == k_status_size && !ec;
  const std::string target = whole ? file.string() : file.string() + ".tmp";
  const int fd = ::open(target.c_str(),
                        O_WRONLY | O_CLOEXEC | (whole ? 0 : O_CREAT | O_TRUNC), 0644);
  if (fd < 0) {
    return false;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n =
        ::pwrite(fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (hold_open.count() > 0) {
    std::this_thread::sleep_for(hold_open);
  }
  ::close(fd);
  return whole || ::rename(target.c_str(), file.c_str()) == 0;
}

std::uint64_t parse_number(std::string_view text, std::string_view what) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    throw std::invalid_argument(std::string(what) + ": '" + std::string(text) +
                                "' is not an unsigned decimal number");
  }
  return value;
}

std::uint64_t parse_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  const std::string bad =
      "size '" + std::string(text) +
      "' is not a byte count like 4096, 64K, 16M or 1G (binary units)";
  if (digits == 0) {
    throw std::invalid_argument(bad);
  }
  const std::uint64_t number = parse_number(text.substr(0, digits), "size");
  std::string suffix(text.substr(digits));
  for (auto& c : suffix) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  int shift = 0;
  if (suffix.empty() || suffix == "B") {
    shift = 0;
  } else if (suffix == "K" || suffix == "KIB") {
    shift = 10;
  } else if (suffix == "M" || suffix == "MIB") {
    shift = 20;
  } else if (suffix == "G" || suffix == "GIB") {
    shift = 30;
  } else {
    throw std::invalid_argument(bad);
  }
  if (shift > 0 && number > (~std::uint64_t{0} >> shift)) {
    throw std::invalid_argument(bad + ": too large");
  }
  return number << shift;
}

std::uint64_t hash_words(const std::uint64_t* words, std::size_t count) {
  std::uint64_t a = k_prime1 + k_prime2;
  std::uint64_t b = k_prime2;
  std::uint64_t c = 0;
  std::uint64_t d = 0 - k_prime1;
  std::size_t i = 0;
  for (; i + 4 <= count; i += 4) {
    a = lane_round(a, words[i]);
    b = lane_round(b, words[i + 1]);
    c = lane_round(c, words[i + 2]);
    d = lane_round(d, words[i + 3]);
  }
  std::uint64_t h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18);
  for (; i < count; ++i) {
    h = rotl(h ^ lane_round(0, words[i]), 27) * k_prime1 + k_prime3;
  }
  h ^= count;
  h ^= h >> 33;
  h *= k_prime2;
  h ^= h >> 29;
  h *= k_prime3;
  return h ^ (h >> 32);
}

pid_t fork_helper() {
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(0);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
  }
  return child;
}

int workload_main(int argc, char** argv, const std::set<std::string>& extra_options,
                  const ProgramFactory& factory) {
  const std::string name =
      argc > 0 ? std::filesystem::path(argv[0]).filename().string() : "workload";
  // Block the control signals first: threads created by the program inherit the
  // mask, so only the main loop's sigtimedwait() ever takes them.
  const sigset_t signals = control_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  Options options;
  std::unique_ptr<Program> program;
  try {
    options = parse_options(argc, argv, extra_options);
    program = factory(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
    return 2;
  }

  std::uint64_t ticks = 0;
  std::uint64_t verified = 0;
  std::uint64_t steps = 0;
  std::string check = "pass";
  std::string detail;
  const auto write_status = [&] {
    Status status;
    status.set("pid", static_cast<std::uint64_t>(::getpid()));
    status.set("ticks", ticks);
    status.set("verified", verified);
    status.set("check", check);
    status.set("detail", detail);
    status.set("steps", steps);
    program->report(status);
    status.write(options.status_file, options.status_hold);
  };

  write_status();
  EventLoop loop(options.interval);
  for (;;) {
    switch (loop.next()) {
    case Event::tick:
      program->tick();
      ++ticks;
      break;
    case Event::verify:
      detail = program->verify();
      check = detail.empty() ? "pass" : "fail";
      ++verified;
      break;
    case Event::step:
      program->step(options.self_test_corrupt);
      ++steps;
      break;
    case Event::terminate:
      program->shutdown();
      return 0;
    }
    write_status();
  }
}

} // namespace stasis::workloads
