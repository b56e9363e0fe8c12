// The channel to one CRIU worker: serialized protobuf messages, one per
// packet. An interface so that the client can be tested with a fake worker.
#pragma once

#include "util/result.hpp"
#include "util/unique_fd.hpp"

#include <chrono>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace stasis::engine {

using Deadline = std::chrono::steady_clock::time_point;

// One message from the worker, with the descriptor it passed along (CRIU
// sends one with the "orphan-pts-master" notification), if any.
struct WireMessage {
  std::string bytes;
  util::UniqueFd fd;
};

// Why a transport operation failed.
struct TransportError {
  enum class Kind { TimedOut, Cancelled, WorkerGone, System };
  Kind kind = Kind::System;
  std::string message;
};

// A connection to one worker process. Not thread-safe: one request at a time.
class CriuTransport {
public:
  virtual ~CriuTransport() = default;

  // Sends one serialized message.
  virtual Result<void, TransportError> send(std::string_view bytes) = 0;

  // Waits for the next message until `deadline` or until `stop` is requested.
  virtual Result<WireMessage, TransportError> receive(Deadline deadline,
                                                      const std::stop_token& stop) = 0;

  // Kills the worker at once (SIGKILL) and reaps it. Safe to call twice.
  virtual void kill_worker() = 0;

  // The worker's pid (0 when there is no process, as with a fake).
  virtual pid_t worker_pid() const = 0;
};

// What a new worker needs: descriptors of ours it must inherit under the
// same numbers (inherit_fd), whether its stdio goes to /dev/null, and whether
// it gets a process group of its own, so that killing it also kills the
// helpers it forked. (A shell-job restore must stay in our group: the
// restored job joins the worker's process group.)
struct WorkerSpec {
  std::vector<int> inherited_fds;
  bool quiet = false;
  bool own_process_group = true;
  // A descriptor the worker gets as its standard input (-1: ours, or
  // /dev/null when quiet).
  int stdin_fd = -1;
  // The images and work dir descriptors a request names. CRIU opens them as
  // /proc/PEER/fd/N; a worker that runs with other credentials is its own
  // peer (see SwrkTransport::spawn) and inherits them under the same numbers.
  std::vector<int> request_dir_fds{};
};

} // namespace stasis::engine
