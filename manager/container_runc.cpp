// runc containers: `runc --criu <stasis's CRIU> checkpoint --image-path ...
// --work-path ...` and `runc restore -d --bundle ...`. runc hands CRIU the
// per-run configuration file through CRIU_CONFIG_FILE (runc runs CRIU in RPC
// mode, which reads it), so keys without a runc flag still reach CRIU.
#include "manager/container_support.hpp"
#include "util/log.hpp"

#include <nlohmann/json.hpp>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;

class RuncRuntime final : public ContainerRuntime {
public:
  explicit RuncRuntime(policy::RuncTarget target) : m_target(std::move(target)) {}

  Result<void> check(const policy::Job& job) const override {
    auto supported = criu_config_file_keys();
    for (auto key : {"criu.shell-job", "criu.file-locks", "criu.tcp-established",
                     "criu.ext-unix-sk", "criu.manage-cgroups", "criu.empty-ns",
                     "restore.lsm-profile", "restore.lsm-mount-context"}) {
      supported.insert(key);
    }
    STASIS_TRY(refuse_unsupported_keys(job, "runc", supported));
    if (cgroups_mode(job.criu.manage_cgroups).empty()) {
      return make_error("job '{}': criu.manage-cgroups of a runc container must be soft, "
                        "full, strict or ignore (runc --manage-cgroups-mode)",
                        job.name);
    }
    return {};
  }

  Result<pid_t> init_pid() const override {
    auto argv = base();
    argv.insert(argv.end(), {"state", m_target.id});
    auto state = STASIS_TRY(query_runtime_tool(argv));
    if (!state.succeeded()) {
      return make_error("{}: runc state {}", describe(), state.describe());
    }
    try {
      auto json = nlohmann::json::parse(state.output);
      const auto status = json.value("status", std::string("unknown"));
      if (status != "running") {
        return make_error("{} is {}, not running", describe(), status);
      }
      return json.at("pid").get<pid_t>();
    } catch (const nlohmann::json::exception& error) {
      return make_error("{}: cannot read runc state: {}", describe(), error.what());
    }
  }

  Result<void> checkpoint(const policy::Job& job, const ContainerRun& run,
                          bool leave_running) const override {
    STASIS_TRY(check(job));
    auto env = STASIS_TRY(criu_environment(job, run, false));
    auto argv = base();
    argv.insert(argv.end(), {"--criu", run.criu.string(), "checkpoint", "--image-path",
                             run.images.string(), "--work-path", run.work.string()});
    if (leave_running) {
      argv.emplace_back("--leave-running");
    }
    add_shared_flags(job, argv);
    argv.push_back(m_target.id);
    auto result = STASIS_TRY(run_runtime_tool(argv, env, run));
    if (!result.succeeded()) {
      return make_error("{}",
                        runtime_failure(fmt::format("runc checkpoint of {}", describe()),
                                        result, run.work / "dump.log"));
    }
    return {};
  }

  Result<pid_t> restore(const policy::Job& job, const ContainerRun& run) const override {
    STASIS_TRY(check(job));
    if (m_target.bundle.empty()) {
      return make_error("job '{}': restoring a runc container needs its bundle: set "
                        "target.runc.bundle (runc restore --bundle)",
                        job.name);
    }
    STASIS_TRY(clear_the_way(job));
    auto env = STASIS_TRY(criu_environment(job, run, true));
    auto argv = base();
    argv.insert(argv.end(), {"--criu", run.criu.string(), "restore", "--detach",
                             "--image-path", run.images.string(), "--work-path",
                             run.work.string(), "--bundle", m_target.bundle});
    add_shared_flags(job, argv);
    if (!job.restore.lsm_profile.empty()) {
      argv.insert(argv.end(), {"--lsm-profile", job.restore.lsm_profile});
    }
    if (!job.restore.lsm_mount_context.empty()) {
      argv.insert(argv.end(), {"--lsm-mount-context", job.restore.lsm_mount_context});
    }
    argv.push_back(m_target.id);
    auto result = STASIS_TRY(run_runtime_tool(argv, env, run));
    if (!result.succeeded()) {
      return make_error("{}",
                        runtime_failure(fmt::format("runc restore of {}", describe()),
                                        result, run.work / "restore.log"));
    }
    return init_pid();
  }

private:
  // A container of the id that still exists blocks the restore: a stopped
  // one is deleted when the job says restore.replace-dead-container, any
  // other refuses the restore.
  Result<void> clear_the_way(const policy::Job& job) const {
    auto argv = base();
    argv.insert(argv.end(), {"state", m_target.id});
    auto state = STASIS_TRY(query_runtime_tool(argv));
    if (!state.succeeded()) {
      return {}; // no such container
    }
    std::string status = "unknown";
    try {
      status = nlohmann::json::parse(state.output).value("status", status);
    } catch (const nlohmann::json::exception&) {
    }
    if (status != "stopped") {
      return make_error("{} exists and is {}: a restore never replaces a container that "
                        "is not stopped",
                        describe(), status);
    }
    if (!job.restore.replace_dead_container) {
      return make_error("{} still exists (stopped); remove it (runc delete {}) or set "
                        "restore.replace-dead-container: true in the policy of job '{}'",
                        describe(), m_target.id, job.name);
    }
    auto remove = base();
    remove.insert(remove.end(), {"delete", m_target.id});
    auto deleted = STASIS_TRY(query_runtime_tool(remove));
    if (!deleted.succeeded()) {
      return make_error("{}: runc delete of the dead container {}", describe(),
                        deleted.describe());
    }
    log::get("manager")->info("replaced the dead {}: runc delete {}", describe(),
                              m_target.id);
    return {};
  }

  static std::string cgroups_mode(policy::CgroupMode mode) {
    switch (mode) {
    case policy::CgroupMode::Soft:
      return "soft";
    case policy::CgroupMode::Full:
      return "full";
    case policy::CgroupMode::Strict:
      return "strict";
    case policy::CgroupMode::Ignore:
      return "ignore";
    case policy::CgroupMode::None:
    case policy::CgroupMode::Props:
      break;
    }
    return "";
  }

  std::string describe() const { return policy::describe(policy::Target{m_target}); }

  std::vector<std::string> base() const {
    std::vector<std::string> argv{"runc"};
    if (!m_target.root.empty()) {
      argv.insert(argv.end(), {"--root", m_target.root});
    }
    return argv;
  }

  // The flags runc checkpoint and runc restore both take.
  static void add_shared_flags(const policy::Job& job, std::vector<std::string>& argv) {
    const auto& criu = job.criu;
    if (criu.tcp_established) {
      argv.emplace_back("--tcp-established");
    }
    if (criu.ext_unix_sk) {
      argv.emplace_back("--ext-unix-sk");
    }
    if (criu.shell_job) {
      argv.emplace_back("--shell-job");
    }
    if (criu.file_locks) {
      argv.emplace_back("--file-locks");
    }
    argv.insert(argv.end(), {"--manage-cgroups-mode", cgroups_mode(criu.manage_cgroups)});
    for (const auto& ns : criu.empty_ns) {
      argv.insert(argv.end(), {"--empty-ns", ns == "net" ? "network" : ns});
    }
  }

  policy::RuncTarget m_target;
};

} // namespace

std::unique_ptr<ContainerRuntime> make_runc_runtime(const policy::RuncTarget& target) {
  return std::make_unique<RuncRuntime>(target);
}

} // namespace stasis::manager
