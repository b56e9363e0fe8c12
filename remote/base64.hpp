// Base64 (RFC 4648, with padding) through OpenSSL's EVP block functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace stasis::remote {

// Encodes bytes as base64.
std::string base64_encode(std::string_view bytes);

// Decodes base64 text; nullopt when it is not base64.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace stasis::remote
