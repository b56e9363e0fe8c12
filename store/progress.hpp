// Progress of long store operations (ingest, materialize, export, import):
// bytes done of a total, reported to a callback at most every
// k_progress_interval, and once more when the operation is done.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>

namespace stasis::store {

// Called with the bytes done and the bytes in all (0 = not known).
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

// The shortest time between two reports of one operation.
inline constexpr std::chrono::milliseconds k_progress_interval{100};

// Counts the bytes of one operation and reports them; safe to advance from
// several threads. Without a callback it does nothing.
class ProgressMeter {
public:
  ProgressMeter(ProgressFn report, std::uint64_t total)
      : m_report(std::move(report)), m_total(total) {}

  // Adds bytes to what is done; reports if the last report is old enough.
  void advance(std::uint64_t bytes) {
    if (!m_report) {
      return;
    }
    m_done.fetch_add(bytes);
    std::unique_lock lock(m_mutex, std::try_to_lock);
    if (!lock.owns_lock()) {
      return; // another thread is reporting
    }
    const auto now = std::chrono::steady_clock::now();
    if (m_reported && now - m_last < k_progress_interval) {
      return;
    }
    m_reported = true;
    m_last = now;
    m_report(clamped(m_done.load()), m_total); // under the lock: never going back
  }

  // Reports the operation done: every byte of the total.
  void finish() {
    if (!m_report) {
      return;
    }
    std::lock_guard lock(m_mutex);
    m_report(m_total, m_total);
  }

  // Bytes advanced so far (not clamped to the total).
  std::uint64_t done() const { return m_done.load(); }
  std::uint64_t total() const { return m_total; }

private:
  std::uint64_t clamped(std::uint64_t done) const {
    return m_total != 0 && done > m_total ? m_total : done;
  }

  ProgressFn m_report;
  const std::uint64_t m_total;
  std::atomic<std::uint64_t> m_done{0};
  std::mutex m_mutex;
  bool m_reported = false;
  std::chrono::steady_clock::time_point m_last{};
};

} // namespace stasis::store
