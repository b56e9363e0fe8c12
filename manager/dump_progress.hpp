// How far a CRIU dump is: the memory the tree is expected to write (from
// /proc) and what it has written so far (its pages images, or the pages it
// streamed), reported as the "dumping" phase of a checkpoint run.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <sys/types.h>
#include <thread>

namespace stasis::manager {

// How often a dump's progress is measured.
inline constexpr std::chrono::milliseconds k_dump_progress_poll{200};
// Most processes of a tree whose memory is summed (the rest are not counted).
inline constexpr std::size_t k_max_progress_processes = 4096;
// Most entries of an images dir looked at per measurement.
inline constexpr std::size_t k_max_progress_entries = 32768;

// The bytes a dump of the tree at root is expected to write: the sum over
// its processes (at most k_max_progress_processes) of their resident
// anonymous and shared memory (RssAnon + RssShmem of /proc/PID/status, which
// anyone may read); 0 when nothing could be read.
std::uint64_t expected_dump_bytes(pid_t root);

// The sum of the sizes of the regular files named pages-*.img in the dir open
// at dir_fd (a dir stasisd made; CRIU, perhaps as a user, writes into it):
// entries are looked at without following links, at most
// k_max_progress_entries of them.
std::uint64_t pages_bytes_in(int dir_fd);

// The bytes of a pages image `status` reads "RssAnon" and "RssShmem" from
// (kB lines of /proc/PID/status); 0 when it has neither.
std::uint64_t resident_private_bytes(const std::string& status);

// A thread that measures done() every k_dump_progress_poll and reports it
// with the expected total (raised to what is done when the estimate was low)
// until stopped or destroyed.
class DumpProgress {
public:
  using Report = std::function<void(std::uint64_t done, std::uint64_t total)>;

  DumpProgress(std::function<std::uint64_t()> done, std::uint64_t total, Report report);
  ~DumpProgress();
  DumpProgress(const DumpProgress&) = delete;
  DumpProgress& operator=(const DumpProgress&) = delete;

  // Stops measuring and reports the dump complete: done() of done().
  void finish();

private:
  void stop();

  std::function<std::uint64_t()> m_done;
  std::uint64_t m_total;
  Report m_report;
  std::mutex m_mutex;
  std::condition_variable_any m_wake;
  std::jthread m_thread;
};

} // namespace stasis::manager
