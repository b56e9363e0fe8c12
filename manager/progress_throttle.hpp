// Which progress reports of one run become RunProgress signals: the first of
// each phase, the one that completes it, and in between at most one per
// k_progress_signal_interval (so at most about 10 signals a second per run).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace stasis::manager {

// The shortest time between two RunProgress signals of one run and phase.
inline constexpr std::chrono::milliseconds k_progress_signal_interval{100};

class ProgressThrottle {
public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // True if this report is to be sent (and then remembered as the last one).
  bool admit(const std::string& phase, std::uint64_t done, std::uint64_t total,
             TimePoint now) {
    const bool first = !m_any || phase != m_phase;
    const bool same = !first && done == m_done && total == m_total;
    const bool completes = total != 0 && done >= total;
    if (same || (!first && !completes && now - m_last < k_progress_signal_interval)) {
      return false;
    }
    m_any = true;
    m_phase = phase;
    m_done = done;
    m_total = total;
    m_last = now;
    return true;
  }

private:
  bool m_any = false;
  std::string m_phase;
  std::uint64_t m_done = 0;
  std::uint64_t m_total = 0;
  TimePoint m_last{};
};

} // namespace stasis::manager
