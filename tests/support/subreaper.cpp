#include "tests/support/subreaper.hpp"

#include "tests/support/process.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace stasis::test {
namespace {

// The one reaper thread shared by all live scopes.
struct Reaper {
  std::mutex mutex;
  int scopes = 0;
  int previous_setting = 0;
  std::atomic<bool> stop{false};
  std::thread thread;
  std::mutex claimed_mutex;
  std::set<pid_t> claimed;
};

Reaper& reaper() {
  static Reaper instance;
  return instance;
}

// Our children, from /proc/self/task/<tid>/children of every thread.
std::vector<pid_t> list_children() {
  std::vector<pid_t> children;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream file(task.path() / "children");
    pid_t pid = 0;
    while (file >> pid) {
      children.push_back(pid);
    }
  }
  return children;
}

} // namespace

void claim_child(pid_t pid) {
  Reaper& r = reaper();
  const std::lock_guard lock(r.claimed_mutex);
  r.claimed.insert(pid);
}

void release_child(pid_t pid) {
  Reaper& r = reaper();
  const std::lock_guard lock(r.claimed_mutex);
  r.claimed.erase(pid);
}

int reap_foreign_zombies() {
  Reaper& r = reaper();
  const pid_t our_session = ::getsid(0);
  int reaped = 0;
  for (const pid_t pid : list_children()) {
    const auto stat = read_proc_stat(pid);
    if (!stat || stat->state != 'Z' || stat->session == our_session) {
      continue;
    }
    const std::lock_guard lock(r.claimed_mutex);
    if (r.claimed.count(pid) > 0) {
      continue;
    }
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      ++reaped;
    }
  }
  return reaped;
}

SubreaperScope::SubreaperScope() {
  Reaper& r = reaper();
  const std::lock_guard lock(r.mutex);
  if (r.scopes++ > 0) {
    return;
  }
  ::prctl(PR_GET_CHILD_SUBREAPER, &r.previous_setting, 0, 0, 0);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  r.stop = false;
  r.thread = std::thread([&r] {
    while (!r.stop) {
      reap_foreign_zombies();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
}

SubreaperScope::~SubreaperScope() {
  Reaper& r = reaper();
  const std::lock_guard lock(r.mutex);
  if (--r.scopes > 0) {
    return;
  }
  r.stop = true;
  r.thread.join();
  reap_foreign_zombies();
  ::prctl(PR_SET_CHILD_SUBREAPER, r.previous_setting, 0, 0, 0);
}

} // namespace stasis::test
