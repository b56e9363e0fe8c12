// The CRIU client: one `criu swrk` worker per request, driven over RPC.
#pragma once

#include "engine/engine_error.hpp"
#include "engine/features.hpp"
#include "engine/notify.hpp"
#include "engine/options.hpp"
#include "engine/run_control.hpp"
#include "engine/stats.hpp"
#include "engine/transport.hpp"
#include "util/result.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <sys/types.h>

namespace stasis::engine {

// Outcome of a dump or pre-dump.
struct DumpResult {
  DumpStats stats;
  std::filesystem::path log_file;
};

// Outcome of a restore: the pid of the restored root.
struct RestoreResult {
  pid_t pid = 0;
  RestoreStats stats;
  std::filesystem::path log_file;
};

// Starts a worker for one request (the real one runs `criu swrk`).
using TransportFactory =
    std::function<Result<std::unique_ptr<CriuTransport>>(const WorkerSpec& spec)>;

// Drives CRIU. Each call starts its own worker, so calls are independent;
// a CriuClient may be shared by threads.
class CriuClient {
public:
  // Uses the real `criu swrk` worker of `criu_binary` (see locate_criu()).
  explicit CriuClient(std::filesystem::path criu_binary);
  // Uses workers made by `factory` (tests pass a fake).
  CriuClient(std::filesystem::path criu_binary, TransportFactory factory);

  const std::filesystem::path& binary() const { return m_binary; }

  // CRIU's version, "MAJOR.MINOR[.SUBLEVEL]" (e.g. "4.2.1").
  Result<std::string, EngineError> version();

  // Runs CRIU's kernel check (criu check); fails with CRIU's complaints.
  Result<void, EngineError> check();

  // Which optional features CRIU and the kernel provide, with reasons.
  Result<Features, EngineError> features();

  // Dumps the tree rooted at options.pid. On timeout or cancellation the
  // worker is killed and the tree is left running.
  Result<DumpResult, EngineError> dump(const DumpOptions& options,
                                       const NotifyHandler& notify = {},
                                       const RunControl& control = {});

  // Pre-dumps memory (the tree keeps running). Refused with
  // ErrorKind::Unsupported when CRIU reports no memory tracking.
  Result<DumpResult, EngineError> pre_dump(const DumpOptions& options,
                                           const NotifyHandler& notify = {},
                                           const RunControl& control = {});

  // Restores a tree from options.images_dir and returns its root pid.
  Result<RestoreResult, EngineError> restore(const RestoreOptions& options,
                                             const NotifyHandler& notify = {},
                                             const RunControl& control = {});

private:
  Result<std::unique_ptr<CriuTransport>, EngineError>
  start_worker(const WorkerSpec& spec, const std::string& what);
  Result<DumpResult, EngineError> run_dump(bool pre, const DumpOptions& options,
                                           const NotifyHandler& notify,
                                           const RunControl& control);

  std::filesystem::path m_binary;
  TransportFactory m_factory;
};

} // namespace stasis::engine
