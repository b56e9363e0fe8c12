// podman containers: `podman container checkpoint --export <tar> --compress
// none`, unpacked into the images directory (so the store deduplicates the
// CRIU images file by file), and `podman container restore --import <tar>` of
// an archive packed again from the materialized images. podman runs runc,
// which runs `criu` from PATH: the run's bin directory with a `criu` link to
// stasis's CRIU comes first. podman does not pass CRIU_CONFIG_FILE on, so only
// podman's own flags are available. Without systemd, podman is told to use
// cgroupfs.
#include "manager/container_support.hpp"

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;

class PodmanRuntime final : public ContainerRuntime {
public:
  explicit PodmanRuntime(policy::PodmanTarget target) : m_target(std::move(target)) {}

  Result<void> check(const policy::Job& job) const override {
    STASIS_TRY(refuse_unsupported_keys(
        job, "podman", {"criu.tcp-established", "criu.file-locks", "criu.network-lock"}));
    if (job.criu.network_lock == policy::NetworkLock::Skip) {
      return make_error("job '{}': criu.network-lock skip cannot be used with a podman "
                        "container (runc's CRIU configuration decides the lock)",
                        job.name);
    }
    return {};
  }

  Result<pid_t> init_pid() const override {
    auto argv = base();
    argv.insert(argv.end(), {"container", "inspect", "--format", "{{.State.Pid}}",
                             m_target.container});
    auto result = STASIS_TRY(query_runtime_tool(argv));
    if (!result.succeeded()) {
      return make_error("{}: podman container inspect {}", describe(), result.describe());
    }
    return parse_runtime_pid(result.output,
                             fmt::format("podman inspect of {}", describe()));
  }

  Result<void> checkpoint(const policy::Job& job, const ContainerRun& run,
                          bool leave_running) const override {
    STASIS_TRY(check(job));
    auto env = STASIS_TRY(criu_environment(job, run, false));
    const fs::path archive = run.images.parent_path() / "podman-export.tar";
    auto argv = base();
    argv.insert(argv.end(), {"container", "checkpoint", "--export", archive.string(),
                             "--compress", "none"});
    if (leave_running) {
      argv.emplace_back("--leave-running");
    }
    add_shared_flags(job, argv);
    argv.push_back(m_target.container);
    auto result = STASIS_TRY(run_runtime_tool(argv, env, run));
    if (!result.succeeded()) {
      return make_error(
          "{}",
          runtime_failure(fmt::format("podman container checkpoint of {}", describe()),
                          result, {}));
    }
    auto unpacked = STASIS_TRY(run_runtime_tool(
        {"tar", "-x", "-f", archive.string(), "-C", run.images.string()}, {}, run));
    std::error_code ignored;
    fs::remove(archive, ignored);
    if (!unpacked.succeeded()) {
      return make_error("unpacking podman's checkpoint archive of {} failed: {}",
                        describe(), unpacked.describe());
    }
    return {};
  }

  Result<pid_t> restore(const policy::Job& job, const ContainerRun& run) const override {
    STASIS_TRY(check(job));
    auto exists_argv = base();
    exists_argv.insert(exists_argv.end(), {"container", "exists", m_target.container});
    auto exists = STASIS_TRY(query_runtime_tool(exists_argv));
    if (exists.succeeded()) {
      return make_error("{} still exists; remove it (podman rm -f {}) so that the "
                        "restore can recreate it from the checkpoint",
                        describe(), m_target.container);
    }
    auto env = STASIS_TRY(criu_environment(job, run, true));
    const fs::path archive = run.images.parent_path() / "podman-import.tar";
    auto packed = STASIS_TRY(run_runtime_tool(
        {"tar", "-c", "-f", archive.string(), "-C", run.images.string(), "."}, {}, run));
    if (!packed.succeeded()) {
      return make_error("packing the checkpoint of {} for podman failed: {}", describe(),
                        packed.describe());
    }
    auto argv = base();
    argv.insert(argv.end(), {"container", "restore", "--import", archive.string()});
    add_shared_flags(job, argv);
    auto result = STASIS_TRY(run_runtime_tool(argv, env, run));
    std::error_code ignored;
    fs::remove(archive, ignored);
    if (!result.succeeded()) {
      return make_error(
          "{}", runtime_failure(fmt::format("podman container restore of {}", describe()),
                                result, {}));
    }
    return init_pid();
  }

private:
  std::string describe() const { return policy::describe(policy::Target{m_target}); }

  static std::vector<std::string> base() {
    std::vector<std::string> argv{"podman"};
    std::error_code ignored;
    if (!fs::exists("/run/systemd/system", ignored)) {
      argv.insert(argv.end(), {"--cgroup-manager", "cgroupfs"});
    }
    return argv;
  }

  static void add_shared_flags(const policy::Job& job, std::vector<std::string>& argv) {
    if (job.criu.tcp_established) {
      argv.emplace_back("--tcp-established");
    }
    if (job.criu.file_locks) {
      argv.emplace_back("--file-locks");
    }
  }

  policy::PodmanTarget m_target;
};

} // namespace

std::unique_ptr<ContainerRuntime>
make_podman_runtime(const policy::PodmanTarget& target) {
  return std::make_unique<PodmanRuntime>(target);
}

} // namespace stasis::manager
