// References, containers-auth.json, tags, authentication challenges and the
// index blob of checkpoints in a registry.
#include "remote/base64.hpp"
#include "remote/format.hpp"
#include "remote/registry_client.hpp"
#include "store/transfer.hpp"

#include <gtest/gtest.h>

namespace stasis::remote {
namespace {

TEST(ARemoteReference, ParsesHostPortRepositoryAndTag) {
  auto r = parse_reference("registry.example.com:5000/team/svc:svc-latest");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->registry, "registry.example.com:5000");
  EXPECT_EQ(r->repository, "team/svc");
  EXPECT_EQ(r->tag, "svc-latest");
  EXPECT_EQ(r->to_string(), "registry.example.com:5000/team/svc:svc-latest");
  auto plain = parse_reference("localhost/a.b__c-d");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->tag, "");
  EXPECT_EQ(plain->repository, "a.b__c-d");
}

TEST(ARemoteReference, RefusesWhatIsNotAReferenceSayingWhy) {
  auto expect_error = [](std::string_view text, std::string_view part) {
    auto r = parse_reference(text);
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
  };
  expect_error("svc", "names no registry");
  expect_error("docker/svc", "is not a host");
  expect_error("r.io/Upper", "repository component 'Upper'");
  expect_error("r.io/a//b", "repository component ''");
  expect_error("r.io/a:-bad", "tag '-bad'");
  expect_error("r.io/a@sha256:00", "a digest");
  expect_error("r.io/a:" + std::string(129, 't'), "tag");
  expect_error("r.io/" + std::string(256, 'a'), "1 to 255 characters");
  expect_error("r.io/" + std::string(k_max_reference_length, 'a'), "at most 512");
}

TEST(AnAuthJson, GivesTheCredentialsOfTheRegistryAsked) {
  const std::string user_pass = base64_encode("alice:pa:ss");
  const std::string json = R"({"auths": {"other.io": {"auth": "eDp5"},
      "https://r.example.com:5000/v1/": {"auth": ")" +
                           user_pass + R"("}}})";
  auto c = credentials_from_auth_json(json, "r.example.com:5000");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->username, "alice");
  EXPECT_EQ((*c)->password, "pa:ss");
  auto none = credentials_from_auth_json(json, "nowhere.io");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto token = credentials_from_auth_json(R"({"auths": {"t.io": {"auth": ")" +
                                              base64_encode("bob:") +
                                              R"(", "identitytoken": "tok"}}})",
                                          "t.io");
  ASSERT_TRUE(token && token->has_value());
  EXPECT_EQ((*token)->username, "bob");
  EXPECT_EQ((*token)->password, "tok");
}

TEST(AnAuthJson, RefusesMalformedOrOversizedFiles) {
  EXPECT_FALSE(credentials_from_auth_json("not json", "r.io"));
  EXPECT_FALSE(
      credentials_from_auth_json(R"({"auths": {"r.io": {"auth": "!!!"}}})", "r.io"));
  EXPECT_FALSE(credentials_from_auth_json(
      R"({"auths": {"r.io": {"auth": ")" + base64_encode("nocolon") + R"("}}})", "r.io"));
  EXPECT_FALSE(credentials_from_auth_json(R"({"auths": {"r.io": {}}})", "r.io"));
  auto big =
      credentials_from_auth_json(std::string(k_max_auth_json_bytes + 1, ' '), "r.io");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("at most"), std::string::npos);
}

TEST(ACheckpointTag, SplitsIntoJobOriginAndIdFromTheRight) {
  EXPECT_EQ(checkpoint_tag("my-svc", "host_1", 42), "my-svc-host_1-42");
  auto p = parse_checkpoint_tag("my-svc-host_1-42");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->job, "my-svc");
  EXPECT_EQ(p->origin, "host_1");
  EXPECT_EQ(p->id, 42U);
  EXPECT_FALSE(parse_checkpoint_tag("my-svc-latest"));
  EXPECT_FALSE(parse_checkpoint_tag("svc-42"));
  EXPECT_FALSE(valid_origin("a-b"));
  EXPECT_FALSE(valid_origin(std::string(k_max_origin_length + 1, 'a')));
  EXPECT_TRUE(valid_origin(default_origin()));
}

TEST(AnAuthenticateHeader, ParsesBasicAndBearerChallenges) {
  auto basic = parse_challenge(R"(Basic realm="stasis-test")");
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->scheme, "basic");
  EXPECT_EQ(basic->param("realm"), "stasis-test");
  auto bearer = parse_challenge(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push")");
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->scheme, "bearer");
  EXPECT_EQ(bearer->param("realm"), "https://auth.example.com/token");
  EXPECT_EQ(bearer->param("service"), "registry.example.com");
  EXPECT_EQ(bearer->param("scope"), "repository:a/b:pull,push");
  EXPECT_FALSE(parse_challenge(R"(Bearer realm="unterminated)"));
}

RemoteIndex sample_index() {
  RemoteIndex index;
  index.bundles.push_back({store::sha256(std::string_view("bundle")), 1000});
  for (int i = 0; i < 10; ++i) {
    IndexEntry e;
    e.hash = store::sha256(std::to_string(i));
    e.codec = i % 2 == 0 ? store::Codec::Zstd : store::Codec::Raw;
    e.offset = static_cast<std::uint64_t>(i) * 100;
    e.stored_len = 100;
    e.raw_len = 4096;
    index.entries.push_back(e);
  }
  return index;
}

TEST(AnIndexBlob, RoundTripsSortedByHash) {
  auto bytes = encode_index(sample_index());
  auto decoded = decode_index(bytes);
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded->entries.size(), 10U);
  ASSERT_EQ(decoded->bundles.size(), 1U);
  EXPECT_EQ(decoded->bundles[0].size, 1000U);
  for (int i = 0; i < 10; ++i) {
    const auto* e = decoded->find(store::sha256(std::to_string(i)));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->offset, static_cast<std::uint64_t>(i) * 100);
  }
  EXPECT_EQ(decoded->find(store::sha256(std::string_view("absent"))), nullptr);
}

TEST(AnIndexBlob, RefusesSlicesOutsideTheirBundleAndOtherLies) {
  auto outside = sample_index();
  outside.entries[3].offset = 950;
  auto r = decode_index(encode_index(outside));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("outside bundle"), std::string::npos)
      << r.error().message;

  auto too_big = sample_index();
  too_big.entries[0].raw_len = store::k_max_export_blob_bytes + 1;
  EXPECT_FALSE(decode_index(encode_index(too_big)));

  auto no_bundle = sample_index();
  no_bundle.entries[0].bundle = 1;
  EXPECT_FALSE(decode_index(encode_index(no_bundle)));

  auto huge_bundle = sample_index();
  huge_bundle.bundles[0].size = k_max_bundle_bytes + 1;
  EXPECT_FALSE(decode_index(encode_index(huge_bundle)));

  auto bytes = encode_index(sample_index());
  bytes.pop_back();
  EXPECT_FALSE(decode_index(bytes));
  // Two entries of one hash (sorted order broken).
  auto twice = sample_index();
  twice.entries[1].hash = twice.entries[0].hash;
  EXPECT_FALSE(decode_index(encode_index(twice)));
}

TEST(AnOciManifest, RoundTripsAndRefusesForeignMediaTypes) {
  OciManifest m;
  m.config = {std::string(k_checkpoint_type), digest_of(std::string_view("c")), 1};
  m.layers.push_back({std::string(k_index_type), digest_of(std::string_view("i")), 1});
  m.layers.push_back({std::string(k_bundle_type), digest_of(std::string_view("b")), 1});
  m.annotations["io.stasis.job"] = "svc";
  auto parsed = oci_manifest_from_json(oci_manifest_to_json(m), "r.io/a:t");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->layers.size(), 2U);
  EXPECT_EQ(parsed->annotations["io.stasis.job"], "svc");
  m.config.media_type = "application/vnd.oci.image.config.v1+json";
  auto foreign = oci_manifest_from_json(oci_manifest_to_json(m), "r.io/a:t");
  ASSERT_FALSE(foreign);
  EXPECT_NE(foreign.error().message.find("r.io/a:t is not a stasis checkpoint"),
            std::string::npos);
}

} // namespace
} // namespace stasis::remote
