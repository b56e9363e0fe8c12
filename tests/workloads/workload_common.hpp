// The shared run loop of the self-checking workloads (CRIU zdtm style).
//
// Every workload takes `--status FILE` and `--interval-ms N` (default 50) and
// rewrites FILE in place (status_format.hpp) every interval as key=value lines:
// pid, ticks, verified, check (pass|fail; "pass" before the first verification),
// detail, steps, plus the program's own keys. Signals are blocked and taken
// synchronously with sigtimedwait() in the main loop, so no work runs in a
// signal handler: SIGUSR1 runs a full self-verification, SIGUSR2 one mutation
// step, SIGTERM/SIGINT a clean exit 0.
//
// The hidden flag `--self-test-corrupt` makes every SIGUSR2 step corrupt the
// workload's state behind its own bookkeeping, so tests can prove that the
// verification really fails. `--status-hold-ms N` keeps the status file open
// N ms after each write, so a test can dump the workload with it open.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace stasis::workloads {

// Options every workload understands plus the program-specific ones.
struct Options {
  std::filesystem::path status_file;
  std::chrono::milliseconds interval{50};
  // Test aid: keep the status file open this long after each write, so that a
  // dump reliably catches the workload with the file open.
  std::chrono::milliseconds status_hold{0};
  bool self_test_corrupt = false;
  std::map<std::string, std::string> extra;
};

// The ordered key=value lines of one status file.
class Status {
public:
  // Sets key to value, replacing an earlier value of the same key.
  void set(std::string_view key, std::string value);
  void set(std::string_view key, std::uint64_t value);
  // Writes the status file in the form of status_format.hpp, keeping it open
  // hold_open longer (Options::status_hold); false on any error.
  bool write(const std::filesystem::path& file,
             std::chrono::milliseconds hold_open = std::chrono::milliseconds(0)) const;

private:
  std::vector<std::pair<std::string, std::string>> m_lines;
};

// One workload: the run loop calls these from the main thread only.
class Program {
public:
  virtual ~Program() = default;
  // Called once per interval: make progress.
  virtual void tick() = 0;
  // Runs a full self-verification; returns "" on success, else the reason.
  virtual std::string verify() = 0;
  // Performs one mutation step (SIGUSR2); corrupt asks to break the state.
  virtual void step(bool corrupt) = 0;
  // Adds the program's own keys to the status.
  virtual void report(Status& status) const = 0;
  // Called before a clean exit.
  virtual void shutdown() {}
};

// Makes a Program from the parsed options; throws std::exception on bad input.
using ProgramFactory = std::function<std::unique_ptr<Program>(const Options&)>;

// The whole main() of a workload: blocks the control signals (before any thread
// exists), parses argv accepting the option names in extra_options (each takes a
// value), builds the program and runs the loop. Start-up errors go to stderr
// with exit code 2; a clean SIGTERM exits 0.
int workload_main(int argc, char** argv, const std::set<std::string>& extra_options,
                  const ProgramFactory& factory);

// Parses a byte count with an optional binary suffix K, M or G (also KiB, MiB,
// GiB); throws std::invalid_argument naming the bad text.
std::uint64_t parse_size(std::string_view text);

// Parses an unsigned decimal number; throws std::invalid_argument naming what.
std::uint64_t parse_number(std::string_view text, std::string_view what);

// A fast, well-mixed 64-bit step (splitmix64): returns the next value of state.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Mixes several words into one seed.
inline std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0) {
  std::uint64_t state = a;
  std::uint64_t x = splitmix64(state) ^ b;
  state = x;
  x = splitmix64(state) ^ c;
  state = x;
  return splitmix64(state);
}

// A cheap non-cryptographic 64-bit checksum of words (four independent lanes).
std::uint64_t hash_words(const std::uint64_t* words, std::size_t count);

// fork() for a workload's helper process: in the child (return 0) the control
// signals are unblocked and the child is killed when the workload dies (it
// exits at once if the workload died before that took effect). Throws
// std::runtime_error if fork fails.
pid_t fork_helper();

} // namespace stasis::workloads
