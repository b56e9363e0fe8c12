// One request/reply exchange with a worker, answering notifications on the way.
#pragma once

#include "engine/criu_rpc.pb.h"
#include "engine/engine_error.hpp"
#include "engine/notify.hpp"
#include "engine/run_control.hpp"
#include "engine/transport.hpp"
#include "util/result.hpp"

#include <string>

namespace stasis::engine {

// Sends `request` and reads until the reply of the same type arrives. Every
// NOTIFY on the way goes to `notify` (answered success when it is empty) and
// is acknowledged. A reply with success=false becomes an ErrorKind::Criu error
// (NotifyRefused when our callback refused). A timeout or cancellation kills
// the worker, except in a dump once CRIU may hold the tree seized: then the
// next notification is refused (CRIU rolls back and resumes the tree) and the
// worker is killed only if none comes within a grace period. Every error starts with `what` ("dump of pid 12 failed").
Result<wire::Response, EngineError> exchange(CriuTransport& transport,
                                             const wire::Request& request,
                                             const NotifyHandler& notify,
                                             const RunControl& control, std::string what);

// Name of a request type for logs and errors ("DUMP", "NOTIFY", ...).
std::string request_type_name(int type);

} // namespace stasis::engine
