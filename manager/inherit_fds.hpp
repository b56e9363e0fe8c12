// restore.inherit-fd: the files stasis opens and hands to CRIU in place of
// resources named in the image (criu --inherit-fd fd[N]:KEY), e.g. a FIFO
// that replaces the pipe a restored writer had as its stdout.
#pragma once

#include "engine/options.hpp"
#include "manager/identity.hpp"
#include "policy/model.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

#include <optional>
#include <vector>

namespace stasis::manager {

// Opens every entry's path (write and append create missing files; a FIFO
// must already have a reader) with the rights of `user` (the tree's; empty:
// root) and adds {key, fd} to `out`. The returned descriptors must stay open
// until CRIU has restored the tree.
Result<std::vector<util::UniqueFd>>
open_inherit_fds(const std::vector<policy::InheritFd>& entries,
                 const std::optional<UserIdentity>& user,
                 std::vector<engine::InheritFd>& out);

} // namespace stasis::manager
