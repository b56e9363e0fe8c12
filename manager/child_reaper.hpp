// Restored trees that become children of stasisd (restore.sibling, or
// detached: false) are reaped when they exit, so that they do not linger as
// zombies for the daemon's lifetime. Only the pids handed to adopt() are
// waited for: CRIU workers and hooks keep being waited for by their owners.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>

namespace stasis::manager {

class ChildReaper {
public:
  ChildReaper() = default;
  ~ChildReaper();
  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;

  // Waits for child pid (described by what, for the log) in the background.
  // The thread starts with the first child; it sleeps in poll() on the
  // children's pidfds, so it costs nothing while they run.
  void adopt(pid_t pid, std::string what);

private:
  void run();
  void wake();

  std::mutex m_mutex;
  std::map<pid_t, std::string> m_children;
  int m_wake_fd = -1;
  bool m_stopping = false;
  std::thread m_thread;
};

} // namespace stasis::manager
