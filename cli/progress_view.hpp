// What stasisctl shows of a run's RunProgress signals: phase, bytes done of
// the total, rate and time left. On a terminal one line is redrawn in place;
// elsewhere (a pipe, a file, TERM=dumb or unset) plain lines are printed, at
// a phase change and then at most every k_plain_progress_interval, with no
// escape codes. Pure: the caller hands in the time and writes the text.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

namespace stasis::cli {

using ProgressClock = std::chrono::steady_clock;

// The shortest time between two plain progress lines of one phase.
inline constexpr std::chrono::seconds k_plain_progress_interval{5};
// The span of recent progress the rate is measured over.
inline constexpr std::chrono::seconds k_rate_window{5};

// "512 B", "9.5 MiB", "212 MiB", "1.2 GiB": at most three digits, binary units.
std::string human_bytes(std::uint64_t bytes);

// "9s", "2m05s", "1h02m".
std::string human_eta(std::chrono::seconds left);

// The rate of one phase from its recent (time, bytes done) samples, and the
// time left at that rate.
class RateMeter {
public:
  // Starts over (a new phase).
  void reset();
  void add(ProgressClock::time_point now, std::uint64_t done);
  // Bytes a second over the last k_rate_window; nothing until samples span
  // at least half a second and bytes were done.
  std::optional<double> bytes_per_second() const;
  // Time left to reach total at that rate; nothing without a rate or total.
  std::optional<std::chrono::seconds> eta(std::uint64_t total) const;

private:
  std::deque<std::pair<ProgressClock::time_point, std::uint64_t>> m_samples;
};

class ProgressView {
public:
  // escapes: draw on a terminal (\r and erase-line), else plain lines.
  explicit ProgressView(bool escapes) : m_escapes(escapes) {}

  // The text to write to stderr for a RunProgress of the run at now ("" for
  // nothing).
  std::string update(const std::string& phase, std::uint64_t done, std::uint64_t total,
                     ProgressClock::time_point now);

  // The text that ends the display: on a terminal, the drawn line erased.
  std::string finish();

  // One description of the progress, without escape codes:
  // "dumping  212 MiB of 512 MiB  41%  35.2 MiB/s  ETA 9s".
  std::string describe(const std::string& phase, std::uint64_t done,
                       std::uint64_t total) const;

private:
  bool m_escapes;
  bool m_drawn = false;
  bool m_completed = false; // the phase's last line is printed (plain)
  std::string m_phase;
  std::optional<ProgressClock::time_point> m_last_plain;
  RateMeter m_rate;
};

} // namespace stasis::cli
