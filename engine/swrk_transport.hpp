// The real transport: a `criu swrk FD` worker on a SOCK_SEQPACKET socketpair.
#pragma once

#include "engine/transport.hpp"

#include <filesystem>
#include <functional>

namespace stasis::engine {

// Runs in the forked worker just before exec (e.g. to drop privileges);
// returns 0, or an errno value that makes the spawn fail.
using ChildSetup = std::function<int()>;

class SwrkTransport final : public CriuTransport {
public:
  // Starts `criu swrk <fd>` with the child's end of a fresh socketpair,
  // running `setup` (if given) in the child before the exec. With a setup the
  // socketpair is made by the child after the setup, so that the worker is
  // its socket's peer: CRIU then opens the images and work dir descriptors of
  // a request in the worker itself (spec.request_dir_fds).
  static Result<std::unique_ptr<SwrkTransport>> spawn(const std::filesystem::path& criu,
                                                      const WorkerSpec& spec,
                                                      const ChildSetup& setup = {});

  SwrkTransport(const SwrkTransport&) = delete;
  SwrkTransport& operator=(const SwrkTransport&) = delete;
  // Closes the socket and reaps the worker (killing it if it lingers).
  ~SwrkTransport() override;

  Result<void, TransportError> send(std::string_view bytes) override;
  Result<WireMessage, TransportError> receive(Deadline deadline,
                                              const std::stop_token& stop) override;
  void kill_worker() override;
  pid_t worker_pid() const override { return m_pid; }

private:
  SwrkTransport(util::UniqueFd socket, util::UniqueFd wakeup, pid_t pid);
  // Reaps the worker if it has exited; returns its status text when it has.
  std::string reap(bool wait);

  util::UniqueFd m_socket;
  util::UniqueFd m_wakeup; // eventfd signalled when a stop is requested
  pid_t m_pid = -1;
  std::string m_exit; // "exited with status N" once reaped
};

} // namespace stasis::engine
