// libFuzzer target for the policy parser: any input must give either a
// PolicySet or diagnostics with sane positions, never a crash or a hang.
#include "policy/loader.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto result = stasis::policy::parse_policy_text(text, "fuzz.yaml");
  if (result) {
    for (const auto& job : result->jobs()) {
      if (job.fingerprint.size() != 64 || job.name.empty()) {
        std::abort();
      }
    }
  } else {
    if (result.error().empty()) {
      std::abort();
    }
    for (const auto& diagnostic : result.error()) {
      if (diagnostic.line < 0 || diagnostic.column < 0 || diagnostic.message.empty()) {
        std::abort();
      }
    }
  }
  return 0;
}
