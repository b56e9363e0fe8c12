// Checkpoints through a real registry (docker-registry with TLS and
// htpasswd): round trips, deduplication, listing and deleting.
#include "remote/container_image.hpp"
#include "remote/registry_client.hpp"
#include "tests/e2e/remote_e2e_support.hpp"

#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

namespace stasis::remote::e2e {
namespace {

constexpr std::size_t k_pages = 8192; // 32 MiB of random memory

class ARegistry : public RemoteE2e {};

TEST_F(ARegistry, TakesACheckpointThatPullsBackByteForByteIntoAnotherStore) {
  auto a = open_store("a");
  auto b = open_store("b");
  auto id = checkpoint(a, "svc", memory(k_pages, 1));
  auto pushed = push_checkpoint(a, "svc", id, ref("fleet/svc"), options(), "hosta");
  ASSERT_TRUE(pushed) << pushed.error().message;
  EXPECT_EQ(pushed->tags, (std::vector<std::string>{"svc-hosta-1", "svc-latest"}));
  EXPECT_GT(pushed->bytes_uploaded, k_pages * 4096);

  for (const std::string tag : {"svc-hosta-1", "svc-latest"}) {
    auto pulled = pull_checkpoint(b, ref("fleet/svc", tag), "restored", options());
    ASSERT_TRUE(pulled) << pulled.error().message;
    EXPECT_EQ(pulled->checkpoint.job, "restored");
    EXPECT_NE(pulled->checkpoint.imported_from.find("fleet/svc:" + tag + "@" +
                                                    pushed->manifest_digest),
              std::string::npos)
        << pulled->checkpoint.imported_from;
    EXPECT_EQ(files(b, "restored", pulled->checkpoint.id), files(a, "svc", id));
  }
  // The second pull found every blob in the store: nothing but the small
  // manifest, config and index came over.
  auto again = pull_checkpoint(b, ref("fleet/svc", "svc-latest"), "again", options());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->blobs_downloaded, 2U);
}

TEST_F(ARegistry, TakesOnlyTheChangedChunksOfALaterCheckpoint) {
  auto a = open_store("a");
  auto mem = memory(k_pages, 2);
  auto first = checkpoint(a, "svc", mem);
  dirty_one_percent(mem, 3);
  auto second = checkpoint(a, "svc", mem);
  auto p1 = push_checkpoint(a, "svc", first, ref("fleet/svc"), options(), "hosta");
  ASSERT_TRUE(p1) << p1.error().message;
  auto p2 = push_checkpoint(a, "svc", second, ref("fleet/svc"), options(), "hosta");
  ASSERT_TRUE(p2) << p2.error().message;
  std::cout << "first_push_bytes=" << p1->bytes_uploaded
            << " later_push_bytes=" << p2->bytes_uploaded << "\n";
  EXPECT_LT(p2->bytes_uploaded * 20, p1->bytes_uploaded);

  // The later checkpoint pulls whole into an empty store, and into one that
  // has the first: then only the changed slices come (ranges of bundles).
  auto b = open_store("b");
  auto full = pull_checkpoint(b, ref("fleet/svc", "svc-hosta-2"), "svc", options());
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(files(b, "svc", full->checkpoint.id), files(a, "svc", second));
  auto c = open_store("c");
  ASSERT_TRUE(pull_checkpoint(c, ref("fleet/svc", "svc-hosta-1"), "svc", options()));
  auto delta = pull_checkpoint(c, ref("fleet/svc", "svc-hosta-2"), "svc", options());
  ASSERT_TRUE(delta) << delta.error().message;
  EXPECT_LT(delta->bytes_downloaded * 20, full->bytes_downloaded);
  EXPECT_EQ(files(c, "svc", delta->checkpoint.id), files(a, "svc", second));
}

TEST_F(ARegistry, ListsEveryPushedCheckpointAndDeletesOne) {
  auto a = open_store("a");
  auto mem = memory(256, 4);
  auto first = checkpoint(a, "svc", mem);
  dirty_one_percent(mem, 5);
  auto second = checkpoint(a, "svc", mem);
  ASSERT_TRUE(push_checkpoint(a, "svc", first, ref("fleet/svc"), options(), "hosta"));
  ASSERT_TRUE(push_checkpoint(a, "svc", second, ref("fleet/svc"), options(), "hosta"));

  auto listed = list_checkpoints(ref("fleet/svc"), options());
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 2U);
  EXPECT_EQ((*listed)[0].tag, "svc-hosta-1");
  EXPECT_EQ((*listed)[1].tag, "svc-hosta-2");
  EXPECT_EQ((*listed)[1].job, "svc");
  EXPECT_EQ((*listed)[1].origin, "hosta");
  EXPECT_EQ((*listed)[1].id, second);
  EXPECT_EQ((*listed)[1].logical_bytes, a.summary("svc", second)->logical_bytes);
  EXPECT_EQ((*listed)[1].created, a.summary("svc", second)->created);

  auto deleted = delete_checkpoint(ref("fleet/svc"), "svc-hosta-1", options());
  ASSERT_TRUE(deleted) << deleted.error().message;
  listed = list_checkpoints(ref("fleet/svc"), options());
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 1U);
  EXPECT_EQ((*listed)[0].tag, "svc-hosta-2");
  auto b = open_store("b");
  auto gone = pull_checkpoint(b, ref("fleet/svc", "svc-hosta-1"), "svc", options());
  ASSERT_FALSE(gone);
  EXPECT_NE(gone.error().message.find("no checkpoint tagged svc-hosta-1"),
            std::string::npos)
      << gone.error().message;
  auto kept = pull_checkpoint(b, ref("fleet/svc", "svc-hosta-2"), "svc", options());
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_EQ(files(b, "svc", kept->checkpoint.id), files(a, "svc", second));
}

// A podman job's push adds podman's checkpoint image (TAG.podman): a plain
// OCI image of one zstd layer whose diff_id is the archive's digest; it is
// no checkpoint to list, and deleting its checkpoint deletes it too.
TEST_F(ARegistry, KeepsAContainerImageBesideItsCheckpointAndDeletesItWithIt) {
  auto a = open_store("a");
  auto id = checkpoint(a, "svc", memory(64, 6));
  auto pushed = push_checkpoint(a, "svc", id, ref("fleet/svc"), options(), "hosta");
  ASSERT_TRUE(pushed) << pushed.error().message;
  ContainerImage image;
  image.archive = tmp() / "archive.tar";
  std::string archive(300000, 'x');
  for (std::size_t i = 0; i < archive.size(); i += 7) {
    archive[i] = static_cast<char>(i % 251);
  }
  { std::ofstream(image.archive, std::ios::binary) << archive; }
  image.annotations = {{"io.podman.annotations.checkpoint.name", "web"}};
  image.created = "2026-12-06T00:00:00Z";
  std::vector<std::string> tags;
  for (const auto& tag : pushed->tags) {
    tags.push_back(container_image_tag(tag));
  }
  EXPECT_EQ(tags, (std::vector<std::string>{"svc-hosta-1.podman", "svc-latest.podman"}));
  auto image_push = push_container_image(ref("fleet/svc"), options(), image, tags, tmp());
  ASSERT_TRUE(image_push) << image_push.error().message;
  EXPECT_EQ(image_push->blobs_uploaded, 2U); // the layer and the config

  RegistryClient client(ref("fleet/svc"), options());
  auto manifest = client.get_manifest("svc-hosta-1.podman");
  ASSERT_TRUE(manifest && *manifest);
  auto doc = nlohmann::json::parse((*manifest)->body);
  EXPECT_EQ(doc["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd");
  EXPECT_EQ(doc["annotations"]["io.podman.annotations.checkpoint.name"], "web");
  auto config = client.get_blob(doc["config"]["digest"].get<std::string>(), 1 << 20);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(nlohmann::json::parse(*config)["rootfs"]["diff_ids"][0], digest_of(archive));

  auto listed = list_checkpoints(ref("fleet/svc"), options());
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 1U);
  EXPECT_EQ((*listed)[0].tag, "svc-hosta-1");

  ASSERT_TRUE(delete_checkpoint(ref("fleet/svc"), "svc-hosta-1", options()));
  auto gone = client.get_manifest("svc-hosta-1.podman");
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_FALSE(*gone);
}

TEST_F(ARegistry, KeepsBothHostsCheckpointsWhenTwoPushTheSameJobAtOnce) {
  auto a = open_store("a");
  auto b = open_store("b");
  auto mem_a = memory(2048, 6);
  auto mem_b = memory(2048, 7);
  std::vector<std::uint64_t> ids_a{checkpoint(a, "svc", mem_a)};
  std::vector<std::uint64_t> ids_b{checkpoint(b, "svc", mem_b)};
  dirty_one_percent(mem_a, 8);
  dirty_one_percent(mem_b, 9);
  ids_a.push_back(checkpoint(a, "svc", mem_a));
  ids_b.push_back(checkpoint(b, "svc", mem_b));
  auto push_all = [&](Store& store, const std::vector<std::uint64_t>& ids,
                      const std::string& origin, std::string& error) {
    for (auto id : ids) {
      auto r = push_checkpoint(store, "svc", id, ref("fleet/svc"), options(), origin);
      if (!r) {
        error = r.error().message;
        return;
      }
    }
  };
  std::string error_a, error_b;
  std::thread ta([&] { push_all(a, ids_a, "hosta", error_a); });
  std::thread tb([&] { push_all(b, ids_b, "hostb", error_b); });
  ta.join();
  tb.join();
  ASSERT_EQ(error_a, "");
  ASSERT_EQ(error_b, "");

  auto listed = list_checkpoints(ref("fleet/svc"), options());
  ASSERT_TRUE(listed) << listed.error().message;
  std::set<std::string> tags;
  for (const auto& c : *listed) {
    tags.insert(c.tag);
  }
  EXPECT_EQ(tags, (std::set<std::string>{"svc-hosta-1", "svc-hosta-2", "svc-hostb-1",
                                         "svc-hostb-2"}));
  auto c = open_store("c");
  for (std::size_t i = 0; i < 2; ++i) {
    auto pa =
        pull_checkpoint(c, ref("fleet/svc", "svc-hosta-" + std::to_string(ids_a[i])),
                        "from-a", options());
    ASSERT_TRUE(pa) << pa.error().message;
    EXPECT_EQ(files(c, "from-a", pa->checkpoint.id), files(a, "svc", ids_a[i]));
    auto pb =
        pull_checkpoint(c, ref("fleet/svc", "svc-hostb-" + std::to_string(ids_b[i])),
                        "from-b", options());
    ASSERT_TRUE(pb) << pb.error().message;
    EXPECT_EQ(files(c, "from-b", pb->checkpoint.id), files(b, "svc", ids_b[i]));
  }
}

TEST_F(ARegistry, RefusesAPullLargerThanTheCallersLimitAndStoresNothing) {
  auto a = open_store("a");
  auto b = open_store("b");
  auto id = checkpoint(a, "svc", memory(64, 10));
  ASSERT_TRUE(push_checkpoint(a, "svc", id, ref("fleet/svc"), options(), "hosta"));
  store::StoreLimits limits;
  limits.max_logical_bytes = 4096;
  auto pulled =
      pull_checkpoint(b, ref("fleet/svc", "svc-latest"), "svc", options(), limits);
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("larger than the 4096 bytes"), std::string::npos)
      << pulled.error().message;
  EXPECT_TRUE(b.list("svc")->empty());
  store::StoreLimits stored;
  stored.max_new_bytes = 100000;
  pulled = pull_checkpoint(b, ref("fleet/svc", "svc-latest"), "svc", options(), stored);
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("100000"), std::string::npos)
      << pulled.error().message;
  EXPECT_TRUE(b.list("svc")->empty());
  EXPECT_EQ(b.usage()->pack_bytes, 0U);
}

} // namespace
} // namespace stasis::remote::e2e
