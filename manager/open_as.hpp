// Opening files and connecting sockets with a user's rights, for what a
// restore hands to the tree of a user (restore.inherit-fd, the fresh
// connections of criu.external-unix-sockets, restore.pidfile): a child process
// takes the user's uid, gid and groups, without any capability, opens the
// path and passes the descriptor back. The kernel then checks the path as it
// would for her, so a symlink she placed leads nowhere she could not go
// herself, and a socket's server sees her credentials, not root's.
#pragma once

#include "manager/identity.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>

namespace stasis::manager {

// How long the child may take (a FIFO or a full listen backlog can block).
inline constexpr std::chrono::seconds k_open_as_timeout{10};

// open(path, flags | O_CLOEXEC | O_NOCTTY, mode) with the rights of `user`, or
// in stasisd itself (as root) when `user` is empty. Errors name the path and,
// for a user, whose rights were used.
Result<util::UniqueFd> open_as(const std::optional<UserIdentity>& user,
                               const std::string& path, int flags, mode_t mode = 0644);

// A SOCK_STREAM connection to the unix socket at `path`, made as open_as.
Result<util::UniqueFd> connect_unix_as(const std::optional<UserIdentity>& user,
                                       const std::string& path);

} // namespace stasis::manager
