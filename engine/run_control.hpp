// Limits on how long a CRIU request may run, and a way to cancel it.
#pragma once

#include <chrono>
#include <stop_token>

namespace stasis::engine {

// Time limit and cancellation of one request. When either fires, the request
// fails with ErrorKind::TimedOut or ErrorKind::Cancelled and a dump target is
// left running: a dump is stopped at CRIU's next notification, which is
// refused so that CRIU rolls back (it may hold the tree seized with its
// parasite inside); other requests have their worker killed (SIGKILL).
struct RunControl {
  // Zero means no limit.
  std::chrono::milliseconds timeout{0};
  // request_stop() on the matching std::stop_source cancels the request.
  std::stop_token stop;
};

} // namespace stasis::engine
