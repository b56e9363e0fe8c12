// Errors of the engine: what failed, why, and where CRIU wrote about it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace stasis::engine {

// The broad class of an engine failure, for callers that react differently
// (retry on a timeout, report bad options to the user, ...).
enum class ErrorKind {
  InvalidOptions, // Options were rejected before CRIU was started.
  CriuNotFound,   // No usable criu binary.
  Unsupported,    // The kernel or CRIU lacks a feature the request needs.
  System,         // A system call of ours failed (socketpair, fork, open...).
  Protocol,       // The worker sent something we did not expect.
  WorkerDied,     // The worker exited before it replied.
  Criu,           // CRIU ran the request and reported failure.
  NotifyRefused,  // Our notify callback answered failure; CRIU aborted.
  TimedOut,       // The deadline passed; the worker was killed.
  Cancelled,      // The caller cancelled; the worker was killed.
};

// Returns a short lower-case name of the kind ("timed out", ...).
const char* to_string(ErrorKind kind);

// An engine failure that reads as a sentence a user can act on, e.g.
// "dump of pid 123 failed: CRIU: Can't ... (see /run/x/dump.log)".
class EngineError {
public:
  EngineError() = default;
  EngineError(ErrorKind kind, std::string what, std::string reason = {});

  ErrorKind kind = ErrorKind::System;
  // What failed, as the start of a sentence ("dump of pid 123 failed").
  std::string what;
  // Why, when we know it better than CRIU's log does.
  std::string reason;
  // errno CRIU reported (0 when none) and its own error message.
  int cr_errno = 0;
  std::string cr_errmsg;
  // CRIU's log of the failed request and its last "Error" lines.
  std::filesystem::path log_file;
  std::vector<std::string> log_errors;

  // The full message: what, why (our reason, else CRIU's log errors, else
  // cr_errmsg/errno) and the log file to read.
  std::string message() const;
  std::string describe() const { return message(); }
};

// Returns the text of the last `max_lines` "Error (...)" lines of a CRIU log,
// without their "Error (file:line): " prefix. CRIU's harmless rlimit complaint
// is skipped. A missing or unreadable log gives an empty list.
std::vector<std::string> read_log_errors(const std::filesystem::path& log_file,
                                         std::size_t max_lines = 5);

// Extracts the error lines from log text (what read_log_errors does after
// reading the file's tail).
std::vector<std::string> parse_log_errors(std::string_view log_text,
                                          std::size_t max_lines = 5);

// Turns well-known CRIU log errors into advice ("pid 12 of the dumped tree is
// taken by another process; ..."), or "" when none applies.
std::string hint_for(const std::vector<std::string>& log_errors);

} // namespace stasis::engine
