#include "manager/delayed_tasks.hpp"

#include "util/log.hpp"

namespace stasis::manager {

DelayedTasks::DelayedTasks() : m_thread([this](std::stop_token stop) { loop(stop); }) {}

DelayedTasks::~DelayedTasks() {
  m_thread.request_stop();
  m_cv.notify_all();
}

void DelayedTasks::post(std::chrono::milliseconds delay, std::function<void()> task) {
  {
    std::lock_guard lock(m_mutex);
    m_tasks.emplace(std::chrono::steady_clock::now() + delay, std::move(task));
  }
  m_cv.notify_all();
}

std::size_t DelayedTasks::pending() const {
  std::lock_guard lock(m_mutex);
  return m_tasks.size();
}

void DelayedTasks::loop(std::stop_token stop) {
  std::unique_lock lock(m_mutex);
  while (!stop.stop_requested()) {
    if (m_tasks.empty()) {
      m_cv.wait(lock, stop, [this] { return !m_tasks.empty(); });
      continue;
    }
    const auto due = m_tasks.begin()->first;
    if (std::chrono::steady_clock::now() < due) {
      m_cv.wait_until(lock, stop, due, [this, due] {
        return !m_tasks.empty() && m_tasks.begin()->first < due;
      });
      continue;
    }
    auto task = std::move(m_tasks.begin()->second);
    m_tasks.erase(m_tasks.begin());
    lock.unlock();
    try {
      task();
    } catch (const std::exception& error) {
      log::get("manager")->error("a delayed task failed: {}", error.what());
    }
    lock.lock();
  }
}

} // namespace stasis::manager
