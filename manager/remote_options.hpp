// What a caller sends to reach a registry (RemoteOptions, references),
// checked and turned into remote/'s client options (remote_run.cpp).
#pragma once

#include "manager/api.hpp"
#include "remote/remote.hpp"

namespace stasis::manager {

// Refuses options longer than the bounds of api.hpp.
MResult<void> check_remote_options(const RemoteOptions& options);
// Parses a caller's reference (at most k_max_reference_chars).
MResult<remote::Reference> parse_caller_reference(const std::string& text);
remote::ClientOptions client_options(const RemoteOptions& options);

} // namespace stasis::manager
