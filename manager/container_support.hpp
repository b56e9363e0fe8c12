// What the container runtimes (container_runc.cpp, container_lxc.cpp,
// container_podman.cpp) share: which policy keys a job sets, refusing those a
// runtime cannot take, the per-run CRIU configuration file and PATH, and
// running the runtime's commands with the run's limits.
#pragma once

#include "manager/container_command.hpp"
#include "manager/container_runtime.hpp"

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace stasis::manager {

// The policy keys ("criu.file-locks", "restore.root", "hooks.pre-dump") whose
// values in the job differ from the defaults. criu.leave-running, criu.timeout,
// criu.log-level and restore.detached/pidfile are left out: every runtime
// handles them.
std::vector<std::string> set_policy_keys(const policy::Job& job);

// Refuses the first set key that is not in `supported`, naming the runtime.
Result<void> refuse_unsupported_keys(const policy::Job& job, std::string_view runtime,
                                     const std::set<std::string_view>& supported);

// The keys a CRIU configuration file can carry for a runtime that lets CRIU
// read CRIU_CONFIG_FILE (runc, LXC).
const std::set<std::string_view>& criu_config_file_keys();

// The lines of a CRIU configuration file for the job's settings that have no
// runtime flag (network-lock always, the rest when not default).
std::string criu_config_text(const policy::Job& job, bool restore);

// Writes work/criu.conf and work/bin/criu (a symlink to run.criu); returns
// the environment for the runtime: CRIU_CONFIG_FILE and PATH with work/bin
// first.
Result<std::map<std::string, std::string>>
criu_environment(const policy::Job& job, const ContainerRun& run, bool restore);

// Runs a runtime command within the run's time limit (plus 30 s) and stop
// token; an error when it could not start.
Result<ContainerCommandResult> run_runtime_tool(std::vector<std::string> argv,
                                                std::map<std::string, std::string> env,
                                                const ContainerRun& run);

// Runs a short query command (state, inspect) with a 30 s limit.
Result<ContainerCommandResult> query_runtime_tool(std::vector<std::string> argv);

// "runc checkpoint of runc container web failed: exited with status 1: ...;
// CRIU: <log errors> (<hint>) (see <log>)".
std::string runtime_failure(std::string_view what, const ContainerCommandResult& result,
                            const std::filesystem::path& criu_log);

// The runtimes (container_runc.cpp, container_lxc.cpp, container_podman.cpp).
std::unique_ptr<ContainerRuntime> make_runc_runtime(const policy::RuncTarget& target);
std::unique_ptr<ContainerRuntime> make_lxc_runtime(const policy::LxcTarget& target);
std::unique_ptr<ContainerRuntime> make_podman_runtime(const policy::PodmanTarget& target);

// Parses a decimal pid printed by a runtime ("1234\n"); an error otherwise.
Result<pid_t> parse_runtime_pid(std::string_view text, std::string_view what);

} // namespace stasis::manager
