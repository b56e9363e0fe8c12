#include "policy/fingerprint.hpp"

#include <array>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace stasis::policy {

std::string sha256_hex(const std::string& bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex += fmt::format("{:02x}", digest[i]);
  }
  return hex;
}

std::string fingerprint(const nlohmann::json& effective_job) {
  nlohmann::json canonical = effective_job;
  canonical.erase("description");
  canonical.erase("use");
  canonical.erase("formerly"); // a rename changes no setting
  // nlohmann::json objects keep keys sorted, so dump() is canonical.
  return sha256_hex("stasis-policy-v1\n" + canonical.dump());
}

} // namespace stasis::policy
