// Fingerprints: stable identities of a job's effective settings.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace stasis::policy {

// Returns the SHA-256 (lower-case hex) of a job's effective settings in
// canonical JSON (sorted keys, defaults filled in, durations and sizes
// normalized). The description, the template names and the former names do not count; key
// order, comments, the file name and how a value was spelled ("60m" or "1h")
// do not change it.
std::string fingerprint(const nlohmann::json& effective_job);

// Returns the SHA-256 of a byte string as lower-case hex.
std::string sha256_hex(const std::string& bytes);

} // namespace stasis::policy
