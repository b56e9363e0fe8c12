#include "policy/fingerprint.hpp"
#include "policy/loader.hpp"

#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

std::string fingerprint_of(const std::string& text, const std::string& file = "a.yaml") {
  auto result = parse_policy_text(text, file);
  EXPECT_TRUE(result.has_value());
  return result ? result->jobs().at(0).fingerprint : std::string();
}

const std::string k_base = R"(version: 1
jobs:
  - name: web
    description: first
    target: {pid: 42}
    schedule: {every: 1h}
    criu: {tcp-established: true, ghost-limit: 1M}
)";

TEST(AJobFingerprint, IsSha256Hex) {
  EXPECT_EQ(sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(fingerprint_of(k_base).size(), 64u);
}

TEST(AJobFingerprint, IgnoresKeyOrderCommentsFileNameDescriptionAndSpelling) {
  const std::string reordered = R"(# a comment
version: 1
jobs:
  - criu:
      ghost-limit: 1048576   # same size, other spelling
      tcp-established: true
    schedule: {every: 60m}   # same duration, other spelling
    target: {pid: 42}
    description: second
    name: web
)";
  EXPECT_EQ(fingerprint_of(k_base), fingerprint_of(reordered, "other.yaml"));
}

TEST(AJobFingerprint, CountsDefaultsAsWrittenOrNot) {
  const std::string explicit_defaults = R"(version: 1
jobs:
  - name: web
    target: {pid: 42}
    schedule: {every: 1h}
    criu: {tcp-established: true, ghost-limit: 1M, leave-running: true, log-level: 4}
    restore: {detached: true}
)";
  EXPECT_EQ(fingerprint_of(k_base), fingerprint_of(explicit_defaults));
}

TEST(AJobFingerprint, ChangesWithAnyEffectiveSetting) {
  const std::string base = fingerprint_of(k_base);
  auto changed = [&](const std::string& from, const std::string& to) {
    std::string text = k_base;
    text.replace(text.find(from), from.size(), to);
    return fingerprint_of(text);
  };
  EXPECT_NE(base, changed("pid: 42", "pid: 43"));
  EXPECT_NE(base, changed("every: 1h", "every: 2h"));
  EXPECT_NE(base, changed("tcp-established: true", "tcp-established: false"));
  EXPECT_NE(base, changed("ghost-limit: 1M", "ghost-limit: 2M"));
  EXPECT_NE(base, changed("name: web", "name: web2"));
}

TEST(AJobFingerprint, IsStableAcrossLoads) {
  EXPECT_EQ(fingerprint_of(k_base), fingerprint_of(k_base));
}

} // namespace
} // namespace stasis::policy
