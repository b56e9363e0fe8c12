// LXC containers: `lxc-checkpoint -D <images> [-s] [-v]` and
// `lxc-checkpoint -r -D <images> -d [--rcfile]`. LXC runs `criu` from PATH,
// so the run's bin directory with a `criu` link to stasis's CRIU comes first;
// CRIU (in command-line mode) reads the per-run configuration file from
// CRIU_CONFIG_FILE. LXC always dumps with --tcp-established, --file-locks,
// --link-remap and --manage-cgroups=full.
#include "manager/container_support.hpp"

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;

class LxcRuntime final : public ContainerRuntime {
public:
  explicit LxcRuntime(policy::LxcTarget target) : m_target(std::move(target)) {}

  Result<void> check(const policy::Job& job) const override {
    auto supported = criu_config_file_keys();
    for (auto key : {"criu.tcp-established", "criu.file-locks", "criu.manage-cgroups"}) {
      supported.insert(key);
    }
    STASIS_TRY(refuse_unsupported_keys(job, "LXC", supported));
    if (job.criu.manage_cgroups != policy::CgroupMode::Soft &&
        job.criu.manage_cgroups != policy::CgroupMode::Full) {
      return make_error("job '{}': lxc-checkpoint always manages cgroups in full mode; "
                        "set criu.manage-cgroups: full",
                        job.name);
    }
    return {};
  }

  Result<pid_t> init_pid() const override {
    auto argv = info();
    argv.insert(argv.end(), {"-p", "-H"});
    auto result = STASIS_TRY(query_runtime_tool(argv));
    if (!result.succeeded()) {
      return make_error("{}: lxc-info {}", describe(), result.describe());
    }
    if (result.output.find_first_not_of(" \t\r\n") == std::string::npos) {
      return make_error("{} is not running", describe());
    }
    return parse_runtime_pid(result.output, fmt::format("lxc-info of {}", describe()));
  }

  Result<void> checkpoint(const policy::Job& job, const ContainerRun& run,
                          bool leave_running) const override {
    STASIS_TRY(check(job));
    auto env = STASIS_TRY(criu_environment(job, run, false));
    auto argv = base();
    argv.insert(argv.end(), {"-D", run.images.string()});
    if (!leave_running) {
      argv.emplace_back("-s");
    }
    if (job.criu.log_level >= 4) {
      argv.emplace_back("-v");
    }
    auto result = STASIS_TRY(run_runtime_tool(argv, env, run));
    // LXC lets CRIU write its log and statistics among the images.
    std::error_code ignored;
    for (const char* file : {"dump.log", "stats-dump"}) {
      fs::rename(run.images / file, run.work / file, ignored);
    }
    if (!result.succeeded()) {
      return make_error("{}",
                        runtime_failure(fmt::format("lxc-checkpoint of {}", describe()),
                                        result, run.work / "dump.log"));
    }
    return {};
  }

  Result<pid_t> restore(const policy::Job& job, const ContainerRun& run) const override {
    STASIS_TRY(check(job));
    auto state_argv = info();
    state_argv.insert(state_argv.end(), {"-s", "-H"});
    auto state = STASIS_TRY(query_runtime_tool(state_argv));
    if (!state.succeeded()) {
      return make_error("{}: lxc-info {} (restoring needs the container's configuration)",
                        describe(), state.describe());
    }
    if (state.output.find("STOPPED") == std::string::npos) {
      return make_error("{} is {}; stop it (lxc-stop) before restoring", describe(),
                        state.output.substr(0, state.output.find('\n')));
    }
    auto env = STASIS_TRY(criu_environment(job, run, true));
    auto argv = base();
    argv.insert(argv.end(), {"-r", "-D", run.images.string(), "-d"});
    if (!m_target.rcfile.empty()) {
      argv.insert(argv.end(), {"--rcfile", m_target.rcfile});
    }
    if (job.criu.log_level >= 4) {
      argv.emplace_back("-v");
    }
    auto result = STASIS_TRY(run_runtime_tool(argv, env, run));
    std::error_code ignored;
    fs::copy_file(run.images / "restore.log", run.work / "restore.log",
                  fs::copy_options::overwrite_existing, ignored);
    if (!result.succeeded()) {
      return make_error(
          "{}", runtime_failure(fmt::format("lxc-checkpoint -r of {}", describe()),
                                result, run.work / "restore.log"));
    }
    return init_pid();
  }

private:
  std::string describe() const { return policy::describe(policy::Target{m_target}); }

  std::vector<std::string> with_name(std::string program) const {
    std::vector<std::string> argv{std::move(program), "-n", m_target.name};
    if (!m_target.lxcpath.empty()) {
      argv.insert(argv.end(), {"-P", m_target.lxcpath});
    }
    return argv;
  }
  std::vector<std::string> base() const { return with_name("lxc-checkpoint"); }
  std::vector<std::string> info() const { return with_name("lxc-info"); }

  policy::LxcTarget m_target;
};

} // namespace

std::unique_ptr<ContainerRuntime> make_lxc_runtime(const policy::LxcTarget& target) {
  return std::make_unique<LxcRuntime>(target);
}

} // namespace stasis::manager
