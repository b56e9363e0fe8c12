// From a job's policy settings to the engine's dump and restore options.
//
// Every policy field with an engine equivalent is carried over. Settings
// without one (page_server, lazy_pages, work_dir, plugins_dir) are checked by
// the run that needs them. The caller fills in the pid, the
// images directory and run-specific choices (leave_running, unprivileged).
#pragma once

#include "engine/options.hpp"
#include "policy/model.hpp"

namespace stasis::manager {

// Dump options of a job's CRIU settings.
engine::DumpOptions to_dump_options(const policy::CriuSettings& criu);

// Restore options of a job's restore settings plus the CRIU settings a dump and
// its restore must share (shell_job, file_locks, tcp_*, ext_unix_sk, cgroups,
// network lock, veth pairs, log level). Where the restore settings give their
// own value (tcp_close, manage_cgroups) it wins; a restore with tcp_close
// never asks CRIU to repair connections (tcp_established is off).
engine::RestoreOptions to_restore_options(const policy::CriuSettings& criu,
                                          const policy::RestoreSettings& restore);

// The engine's cpu_cap bits of a policy value ("none", "fpu", "cpu", "ins", "all").
std::uint32_t to_cpu_cap(const std::string& name);

} // namespace stasis::manager
