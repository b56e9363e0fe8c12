// CRIU's lazy-pages daemon (`criu lazy-pages`): the process that serves the
// page faults of a tree restored with RestoreOptions::lazy_pages, fetching the
// pages from a page server (stasis's, see store/lazy_source.hpp).
//
// Start it before the restore, on the same images dir and work dir (the
// restore finds it through lazy-pages.socket in the work dir). It exits once
// every page has been transferred; a restored process that touches a page
// after the daemon (or its page server) died gets SIGBUS/SIGSEGV and dies.
#pragma once

#include "engine/engine_error.hpp"
#include "engine/swrk_transport.hpp"
#include "util/result.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>

namespace stasis::engine {

// How to start the lazy-pages daemon.
struct LazyPagesOptions {
  std::filesystem::path images_dir; // the restore's images dir
  std::filesystem::path work_dir;   // the restore's work dir (lazy-pages.socket)
  // The page server: a connected stream socket of ours (passed as --ps-socket),
  // or an address and port.
  int page_server_fd = -1;
  std::string address;
  std::uint16_t port = 0;
  std::string log_file = "lazy-pages.log"; // in work_dir
  // Runs in the child before the exec (e.g. to switch to the restored tree's
  // user); 0 or an errno value. A daemon with other credentials than ours
  // cannot reach the directories by path: it is given them as descriptors of
  // ours (opened here) that it inherits, named /proc/self/fd/N.
  ChildSetup setup;
  int log_level = 2;
  std::chrono::milliseconds ready_timeout{10'000};
};

class LazyPagesDaemon {
public:
  // Starts `criu lazy-pages --page-server ...` and waits until it listens.
  static Result<LazyPagesDaemon, EngineError> start(const std::filesystem::path& criu,
                                                    const LazyPagesOptions& options);
  LazyPagesDaemon(LazyPagesDaemon&& other) noexcept;
  LazyPagesDaemon& operator=(LazyPagesDaemon&& other) noexcept;
  LazyPagesDaemon(const LazyPagesDaemon&) = delete;
  LazyPagesDaemon& operator=(const LazyPagesDaemon&) = delete;
  // Kills the daemon if it still runs.
  ~LazyPagesDaemon();

  pid_t pid() const { return m_pid; }
  const std::filesystem::path& log_file() const { return m_log; }

  // Waits (bounded) until the daemon has transferred every page and exited.
  Result<void, EngineError> wait(std::chrono::milliseconds timeout);
  // True while it runs.
  bool running();
  // Kills it (the restored tree then dies at its next missing page).
  void kill();

private:
  LazyPagesDaemon(pid_t pid, std::filesystem::path log)
      : m_pid(pid), m_log(std::move(log)) {}
  std::optional<int> reap(bool block);

  pid_t m_pid = -1;
  std::filesystem::path m_log;
  std::optional<int> m_status; // wait status once reaped
};

} // namespace stasis::engine
