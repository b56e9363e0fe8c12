// Work to do later (a failed push retried after its backoff), run by one
// thread of its own in due order. Destroying it drops what has not run yet.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace stasis::manager {

class DelayedTasks {
public:
  DelayedTasks();
  ~DelayedTasks();
  DelayedTasks(const DelayedTasks&) = delete;
  DelayedTasks& operator=(const DelayedTasks&) = delete;

  // Runs task on the tasks' thread once delay has passed.
  void post(std::chrono::milliseconds delay, std::function<void()> task);
  // How many tasks wait (for status and tests).
  std::size_t pending() const;

private:
  void loop(std::stop_token stop);

  mutable std::mutex m_mutex;
  std::condition_variable_any m_cv;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> m_tasks;
  std::jthread m_thread; // last: started after the members it uses
};

} // namespace stasis::manager
