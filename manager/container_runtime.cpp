#include "manager/container_runtime.hpp"

#include "manager/container_support.hpp"
#include "util/log.hpp"

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;

// CRIU's dump statistics from wherever the runtime let CRIU write them.
engine::DumpStats dump_stats(const ContainerRun& run) {
  for (const auto& dir : {run.images, run.work}) {
    if (auto stats = engine::read_dump_stats(dir)) {
      return *stats;
    }
  }
  return {};
}

} // namespace

std::unique_ptr<ContainerRuntime> make_container_runtime(const policy::Target& target) {
  if (const auto* runc = std::get_if<policy::RuncTarget>(&target)) {
    return make_runc_runtime(*runc);
  }
  if (const auto* lxc = std::get_if<policy::LxcTarget>(&target)) {
    return make_lxc_runtime(*lxc);
  }
  if (const auto* podman = std::get_if<policy::PodmanTarget>(&target)) {
    return make_podman_runtime(*podman);
  }
  return nullptr;
}

Result<pid_t> container_init_pid(const policy::Target& target) {
  auto runtime = make_container_runtime(target);
  if (!runtime) {
    return make_error("{} is not a container", policy::describe(target));
  }
  auto pid = runtime->init_pid();
  const auto what = policy::describe(target);
  if (!pid && pid.error().message.find(what) == std::string::npos) {
    return make_error("{}: {}", what, pid.error().message);
  }
  return pid;
}

Result<engine::DumpStats> checkpoint_container(const policy::Job& job,
                                               const ContainerRun& run,
                                               bool leave_running) {
  auto runtime = make_container_runtime(job.target);
  if (!runtime) {
    return make_error("{} is not a container", policy::describe(job.target));
  }
  log::get("manager")->info("job {}: checkpointing {} with its runtime ({})", job.name,
                            policy::describe(job.target),
                            leave_running ? "leaving it running" : "stopping it");
  STASIS_TRY(runtime->checkpoint(job, run, leave_running));
  return dump_stats(run);
}

Result<pid_t> restore_container(const policy::Job& job, const ContainerRun& run,
                                bool detached) {
  auto runtime = make_container_runtime(job.target);
  if (!runtime) {
    return make_error("{} is not a container", policy::describe(job.target));
  }
  if (!detached) {
    return make_error("job '{}': {} is restored detached only (the runtime's foreground "
                      "restore would tie the container to stasisd); set "
                      "restore.detached: true",
                      job.name, policy::describe(job.target));
  }
  log::get("manager")->info("job {}: restoring {} with its runtime", job.name,
                            policy::describe(job.target));
  return runtime->restore(job, run);
}

} // namespace stasis::manager
