// Small /proc and process helpers for tests: who is alive, who is a zombie, and
// running a command to completion.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace stasis::test {

// The fields of /proc/<pid>/stat the tests care about.
struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
};

// Reads /proc/<pid>/stat; nullopt if the process does not exist (any more).
std::optional<ProcStat> read_proc_stat(pid_t pid);

// Waits until /proc/<pid> is gone (or is a zombie that is not ours); bounded.
bool wait_pid_gone(pid_t pid, std::chrono::milliseconds timeout);

// Waits until /proc/<pid> is gone entirely, i.e. the pid is free for a restore
// (a zombie reparented to PID 1 counts as taken: this machine's PID 1 reaps late).
bool wait_pid_free(pid_t pid, std::chrono::milliseconds timeout);

// Pids of the processes whose command line holds the marker (zombies have
// none). Tests give the processes they start a marker to find them by, also
// when the pids are another PID namespace's.
std::vector<pid_t> processes_with_marker(std::string_view marker);

// SIGKILLs, when it goes out of scope, every process whose command line holds
// the marker: what a failing test left behind.
struct KillMarkedOnExit {
  std::string marker;
  ~KillMarkedOnExit();
};

// The `key=value` lines of text (lines without '=' are skipped; a later key
// wins), and the same read from a file (empty if it cannot be read). Status
// files of the workloads and environment dumps of hooks have this form.
std::map<std::string, std::string> parse_key_values(std::string_view text);
std::map<std::string, std::string> read_key_values(const std::filesystem::path& file);

// The CRIU binary for tests: $STASIS_CRIU if set, else <STASIS_CRIU_PREFIX>/bin/criu.
std::filesystem::path criu_binary();

// The outcome of run_command().
struct CommandResult {
  // The exit code, 128 + signal number if killed, -1 if it could not run or timed out.
  int exit_code = -1;
  // Why it could not run or timed out; empty otherwise.
  std::string error;
};

// Runs argv (argv[0] is a path) with stdin/stdout on /dev/null and stderr inherited,
// waits for it (killing it after timeout) and returns how it ended. The child stays
// in the caller's session, so a SubreaperScope never reaps it behind our back.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

} // namespace stasis::test

namespace stasis::test {

// Starts argv (argv[0] a path) as a new process with exactly the given pid
// (clone3 with set_tid: root only), in a session of its own with stdio on
// /dev/null; returns the pid, or -1 with errno set (EEXIST: the pid is taken).
// The caller reaps it (or a SubreaperScope does).
pid_t spawn_at_pid(pid_t pid, const std::vector<std::string>& argv);

} // namespace stasis::test
