// A scripted stand-in for a `criu swrk` worker, for unit tests of the client.
#pragma once

#include "engine/criu_client.hpp"
#include "engine/criu_rpc.pb.h"
#include "engine/transport.hpp"

#include <deque>
#include <fcntl.h>
#include <memory>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <vector>

namespace stasis::engine::testing {

// What the fake worker does when the client next waits for a message.
struct Step {
  wire::Response reply; // sent unless hang or die
  int fd = -1;          // passed with the reply (the step owns it)
  bool hang = false;    // never answer: wait for the deadline or a stop
  bool die = false;     // exit without answering
};

// Shared state of all fake workers of one test: the script and a record.
struct FakeWorkerState {
  std::deque<Step> script;
  std::vector<wire::Request> requests;
  std::vector<WorkerSpec> specs;
  int workers_started = 0;
  int workers_killed = 0;
};

class FakeTransport final : public CriuTransport {
public:
  explicit FakeTransport(std::shared_ptr<FakeWorkerState> state)
      : m_state(std::move(state)) {}

  Result<void, TransportError> send(std::string_view bytes) override {
    wire::Request request;
    request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
    m_state->requests.push_back(request);
    return {};
  }

  Result<WireMessage, TransportError> receive(Deadline deadline,
                                              const std::stop_token& stop) override {
    if (m_state->script.empty() || m_state->script.front().die) {
      if (!m_state->script.empty()) {
        m_state->script.pop_front();
      }
      return Unexpected(TransportError{TransportError::Kind::WorkerGone,
                                       "the CRIU worker (pid 0) exited with status 1"});
    }
    Step step = std::move(m_state->script.front());
    m_state->script.pop_front();
    if (step.hang) {
      while (!stop.stop_requested() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (stop.stop_requested()) {
        return Unexpected(TransportError{TransportError::Kind::Cancelled, "cancelled"});
      }
      return Unexpected(TransportError{TransportError::Kind::TimedOut, "timed out"});
    }
    WireMessage message;
    message.bytes = step.reply.SerializeAsString();
    message.fd.reset(step.fd);
    return message;
  }

  void kill_worker() override { ++m_state->workers_killed; }
  pid_t worker_pid() const override { return 0; }

private:
  std::shared_ptr<FakeWorkerState> m_state;
};

// A client whose workers follow `state`'s script.
inline CriuClient make_fake_client(const std::shared_ptr<FakeWorkerState>& state) {
  return CriuClient(
      "/fake/criu",
      [state](const WorkerSpec& spec) -> Result<std::unique_ptr<CriuTransport>> {
        ++state->workers_started;
        state->specs.push_back(spec);
        return std::unique_ptr<CriuTransport>(std::make_unique<FakeTransport>(state));
      });
}

inline Step reply(wire::RequestType type, bool success = true) {
  Step step;
  step.reply.set_type(type);
  step.reply.set_success(success);
  return step;
}

inline Step notify(const std::string& script, int pid = 0) {
  Step step = reply(wire::REQ_NOTIFY);
  step.reply.mutable_notify()->set_script(script);
  step.reply.mutable_notify()->set_pid(pid);
  return step;
}

inline Step hang() {
  Step step;
  step.hang = true;
  return step;
}

inline Step die() {
  Step step;
  step.die = true;
  return step;
}

// A fresh temporary directory, removed with its contents at scope end.
class ScratchDir {
public:
  ScratchDir() {
    char pattern[] = "/tmp/stasis-engine-unit-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      throw std::runtime_error("cannot create a scratch directory");
    }
    m_path = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

} // namespace stasis::engine::testing
