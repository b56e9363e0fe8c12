#include "cli/progress_view.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include <fmt/format.h>

namespace stasis::cli {
namespace {

using namespace std::chrono_literals;

// Samples closer together than this give no rate.
constexpr auto k_min_rate_span = 500ms;
// Most samples a meter keeps (more than a window's worth at 10 a second).
constexpr std::size_t k_max_rate_samples = 256;

} // namespace

std::string human_bytes(std::uint64_t bytes) {
  constexpr const char* k_units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) {
    return fmt::format("{} B", bytes);
  }
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(k_units)) {
    value /= 1024.0;
    ++unit;
  }
  // Cut, not rounded: 1023.9 KiB is "1023 KiB", never "1024 KiB".
  return value < 10.0
             ? fmt::format("{:.1f} {}", std::floor(value * 10.0) / 10.0, k_units[unit])
             : fmt::format("{} {}", static_cast<std::uint64_t>(value), k_units[unit]);
}

std::string human_eta(std::chrono::seconds left) {
  const auto s = std::max<std::int64_t>(0, left.count());
  if (s < 60) {
    return fmt::format("{}s", s);
  }
  if (s < 3600) {
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  }
  return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
}

void RateMeter::reset() {
  m_samples.clear();
}

void RateMeter::add(ProgressClock::time_point now, std::uint64_t done) {
  if (!m_samples.empty() &&
      (now < m_samples.back().first || done < m_samples.back().second)) {
    m_samples.clear(); // time or bytes went back: start over
  }
  m_samples.emplace_back(now, done);
  // Keep the newest sample at or before the window's start, and those after.
  while (m_samples.size() > 2 && (m_samples[1].first <= now - k_rate_window ||
                                  m_samples.size() > k_max_rate_samples)) {
    m_samples.pop_front();
  }
}

std::optional<double> RateMeter::bytes_per_second() const {
  if (m_samples.size() < 2) {
    return std::nullopt;
  }
  const auto& [first_time, first_done] = m_samples.front();
  const auto& [last_time, last_done] = m_samples.back();
  const auto span = last_time - first_time;
  if (span < k_min_rate_span || last_done <= first_done) {
    return std::nullopt;
  }
  return static_cast<double>(last_done - first_done) /
         std::chrono::duration<double>(span).count();
}

std::optional<std::chrono::seconds> RateMeter::eta(std::uint64_t total) const {
  const auto rate = bytes_per_second();
  if (!rate || total == 0 || m_samples.back().second >= total) {
    return std::nullopt;
  }
  const double left = static_cast<double>(total - m_samples.back().second) / *rate;
  return std::chrono::seconds(static_cast<std::int64_t>(std::ceil(left)));
}

std::string ProgressView::describe(const std::string& phase, std::uint64_t done,
                                   std::uint64_t total) const {
  if (done == 0 && total == 0) {
    return phase;
  }
  std::string text = phase + "  ";
  if (total == 0) {
    text += human_bytes(done);
  } else {
    done = std::min(done, total);
    text += fmt::format("{} of {}  {}%", human_bytes(done), human_bytes(total),
                        done * 100 / total);
  }
  if (const auto rate = m_rate.bytes_per_second()) {
    text += fmt::format("  {}/s", human_bytes(static_cast<std::uint64_t>(*rate)));
  }
  if (const auto left = m_rate.eta(total); left && done < total) {
    text += "  ETA " + human_eta(*left);
  }
  return text;
}

std::string ProgressView::update(const std::string& phase, std::uint64_t done,
                                 std::uint64_t total, ProgressClock::time_point now) {
  const bool new_phase = phase != m_phase;
  if (new_phase) {
    m_phase = phase;
    m_rate.reset();
    m_completed = false;
  }
  m_rate.add(now, done);
  if (m_escapes) {
    m_drawn = true;
    return "\r\033[K" + describe(phase, done, total);
  }
  const bool completes = total != 0 && done >= total && !m_completed;
  if (!new_phase && !completes && m_last_plain &&
      now - *m_last_plain < k_plain_progress_interval) {
    return "";
  }
  m_completed = m_completed || completes;
  m_last_plain = now;
  return describe(phase, done, total) + "\n";
}

std::string ProgressView::finish() {
  if (!std::exchange(m_drawn, false)) {
    return "";
  }
  return "\r\033[K";
}

} // namespace stasis::cli
