// The key table drives validation, schema and man page: check that they agree.
#include "policy/diagnostics.hpp"
#include "policy/keys.hpp"
#include "policy/model.hpp"
#include "policy/schema.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

TEST(TheEditDistance, CountsInsertionsDeletionsSubstitutionsAndTranspositions) {
  EXPECT_EQ(edit_distance("leave-running", "leave-running"), 0u);
  EXPECT_EQ(edit_distance("leave-runing", "leave-running"), 1u);
  EXPECT_EQ(edit_distance("kepe-last", "keep-last"), 1u);
  EXPECT_EQ(edit_distance("abc", "xyz"), 3u);
}

TEST(DidYouMean, SuggestsCloseKeysOrListsTheValidOnes) {
  EXPECT_EQ(did_you_mean("calender", {"every", "calendar", "jitter"}),
            "; did you mean 'calendar'?");
  EXPECT_EQ(did_you_mean("zzz", {"every", "jitter"}), " (valid: every, jitter)");
}

void collect(const ValueSpec& spec, const std::string& prefix,
             std::vector<std::string>& out) {
  if (!spec.keys) {
    return;
  }
  for (const auto& key : *spec.keys) {
    out.push_back(prefix + key.name);
    const ValueSpec* inner = key.value.get();
    std::string sub = prefix + key.name + ".";
    if (inner->kind == ValueKind::List && inner->element->kind == ValueKind::Section) {
      inner = inner->element.get();
      sub = prefix + key.name + "[].";
    }
    collect(*inner, sub, out);
  }
}

TEST(TheKeyTable, DocumentsEveryKey) {
  std::vector<std::string> keys;
  collect(*language().job, "", keys);
  EXPECT_GT(keys.size(), 100u);
  for (const auto& name : keys) {
    SCOPED_TRACE(name);
    // Leaf names of hook commands are documented once for all hook points.
    if (name.starts_with("hooks.") && std::count(name.begin(), name.end(), '.') > 1) {
      continue;
    }
    const std::string reference = key_reference_asciidoc();
    EXPECT_NE(reference.find("*" + name + "*::"), std::string::npos);
  }
}

TEST(TheKeyTable, HasAHookForEveryCriuAction) {
  for (const char* point :
       {"pre-dump", "network-lock", "post-dump", "network-unlock", "pre-restore",
        "setup-namespaces", "post-setup-namespaces", "post-restore", "pre-resume",
        "post-resume", "on-success", "on-failure"}) {
    EXPECT_TRUE(hook_point_from_string(point).has_value()) << point;
  }
  EXPECT_EQ(hook_point_names().size(), k_hook_point_count);
}

TEST(TheJsonSchema, ForbidsUnknownKeysAndListsEveryCriuKey) {
  const auto schema = json_schema();
  EXPECT_EQ(schema["additionalProperties"], false);
  const auto& criu = schema["properties"]["jobs"]["items"]["properties"]["criu"];
  EXPECT_EQ(criu["additionalProperties"], false);
  for (const auto& key : criu_keys()) {
    EXPECT_TRUE(criu["properties"].contains(key.name)) << key.name;
  }
  EXPECT_EQ(schema["properties"]["jobs"]["items"]["required"],
            nlohmann::json::array({"name"}));
}

TEST(TheManPage, MentionsEveryTopLevelAndCriuKey) {
  std::ifstream in(STASIS_SOURCE_DIR "/docs/stasis.policy.5.adoc");
  ASSERT_TRUE(in) << "docs/stasis.policy.5.adoc is missing";
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& key : job_keys()) {
    EXPECT_NE(text.str().find(key.name), std::string::npos) << key.name;
  }
  for (const auto& key : criu_keys()) {
    EXPECT_NE(text.str().find("criu." + key.name), std::string::npos) << key.name;
  }
  for (const auto& key : restore_keys()) {
    EXPECT_NE(text.str().find("restore." + key.name), std::string::npos) << key.name;
  }
}

} // namespace
} // namespace stasis::policy
