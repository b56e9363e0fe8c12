// CRIU notifications ("action scripts" over RPC) and how we answer them.
#pragma once

#include <functional>
#include <string>
#include <sys/types.h>

namespace stasis::engine {

// One notification from CRIU during a dump or restore.
struct NotifyEvent {
  // The action: "pre-dump", "network-lock", "post-dump", "network-unlock",
  // "pre-restore", "setup-namespaces", "post-setup-namespaces",
  // "post-restore", "pre-resume", "post-resume", "orphan-pts-master", ...
  std::string script;
  // The pid CRIU attaches (the restored root for the restore actions), or 0.
  pid_t pid = 0;
  // A descriptor CRIU passed with the event ("orphan-pts-master" passes the
  // pty master), or -1. Valid only during the callback: dup() it to keep it.
  int fd = -1;
};

// The callback's verdict. Failure makes CRIU abort the dump or restore.
struct NotifyAnswer {
  bool success = true;
  // Why the callback refused; becomes part of the resulting error.
  std::string reason;

  static NotifyAnswer ok() { return {}; }
  static NotifyAnswer fail(std::string why) { return {false, std::move(why)}; }
};

// Called for every notification, on the thread that runs the request.
using NotifyHandler = std::function<NotifyAnswer(const NotifyEvent&)>;

} // namespace stasis::engine
