// CRIU workers in a fresh PID namespace (CRIU's criu-ns approach), for
// restores whose pids are taken on the host.
//
// The forked worker process unshares the PID and mount namespaces and forks
// the namespace's init, which makes its mounts private, mounts a fresh /proc
// and forks `criu swrk` as pid 2. The init stays behind as the namespace's
// reaper for as long as the restored tree lives, and exits with its last
// process (the host's subreaper or PID 1 reaps it). Killing the worker kills
// the init and with it everything in the namespace.
//
// CRIU opens the images and work directories a request passes as descriptors
// through /proc/PEER/fd/N, and the peer (us) has no pid in the new namespace;
// the transport therefore names both directories in a CRIU RPC configuration
// file written into the work directory, as /proc/self/fd/N of the worker,
// which inherits the descriptors (a worker running as a user could not reach
// them by path).
#pragma once

#include "engine/criu_client.hpp"
#include "engine/swrk_transport.hpp"

#include <filesystem>
#include <memory>
#include <sys/types.h>

namespace stasis::engine {

// A factory of `criu swrk` workers in fresh PID namespaces; *init_pid is set
// to the host pid of the namespace's init of the last worker started.
// `then` (if given) runs in the worker once it is inside the namespace, right
// before the exec (e.g. to switch to the restored tree's user); 0 or an errno.
TransportFactory pid_namespace_workers(std::filesystem::path criu,
                                       std::shared_ptr<pid_t> init_pid,
                                       ChildSetup then = {});

} // namespace stasis::engine
