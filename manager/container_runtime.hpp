// Container targets (runc, lxc, podman) are checkpointed and restored by
// their runtime's own command (runc checkpoint/restore, lxc-checkpoint,
// podman container checkpoint/restore) running stasis's CRIU; the images the
// runtime writes are stored like any other checkpoint, and a restore
// materializes them and hands them back to the runtime.
//
// Each runtime maps the job's policy keys to its own flags. Keys a runtime has
// no flag for are passed to CRIU in a per-run configuration file
// (CRIU_CONFIG_FILE) where the runtime lets CRIU read the environment (runc,
// LXC); anything else it cannot take is refused with an error naming the
// policy key, before the runtime runs.
#pragma once

#include "engine/run_control.hpp"
#include "engine/stats.hpp"
#include "policy/model.hpp"
#include "util/result.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sys/types.h>

namespace stasis::manager {

// Where and how one container checkpoint or restore runs.
struct ContainerRun {
  std::filesystem::path criu;   // stasis's CRIU binary
  std::filesystem::path images; // checkpoint: empty dir to fill; restore: the images
  std::filesystem::path work;   // the run's logs and scratch files (exists)
  engine::RunControl control;   // CRIU's time limit (the runtime gets 30 s more)
};

// One container runtime, bound to one container target.
class ContainerRuntime {
public:
  virtual ~ContainerRuntime() = default;

  // Checks that the runtime can take every setting of the job; the error
  // names the first policy key it cannot take.
  virtual Result<void> check(const policy::Job& job) const = 0;
  // The host pid of the running container's init.
  virtual Result<pid_t> init_pid() const = 0;
  // Checkpoints the container into run.images (stopping it unless
  // leave_running).
  virtual Result<void> checkpoint(const policy::Job& job, const ContainerRun& run,
                                  bool leave_running) const = 0;
  // Restores the container from run.images; returns its init's host pid.
  virtual Result<pid_t> restore(const policy::Job& job,
                                const ContainerRun& run) const = 0;
  // Writes the runtime's own checkpoint archive of run.images to archive
  // (what the runtime restores without stasis) and returns the annotations
  // its checkpoint images carry; nullopt for runtimes that have no image
  // format.
  virtual Result<std::optional<std::map<std::string, std::string>>>
  image_archive(const ContainerRun& run, const std::filesystem::path& archive) const {
    (void)run;
    (void)archive;
    return std::optional<std::map<std::string, std::string>>{};
  }
};

// The runtime of a container target; nullptr for other targets.
std::unique_ptr<ContainerRuntime> make_container_runtime(const policy::Target& target);

// The host pid of a running container's init (for the target resolver).
Result<pid_t> container_init_pid(const policy::Target& target);

// Checks the job, then checkpoints its container into run.images; returns
// CRIU's dump statistics (zero when the runtime kept none).
Result<engine::DumpStats>
checkpoint_container(const policy::Job& job, const ContainerRun& run, bool leave_running);

// Checks the job, then restores its container from run.images; returns the
// restored init's host pid. Container restores are always detached.
Result<pid_t> restore_container(const policy::Job& job, const ContainerRun& run,
                                bool detached);

} // namespace stasis::manager
