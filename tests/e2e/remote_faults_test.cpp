// What goes wrong between a store and a registry: bad credentials, no
// registry, a damaged blob, a push killed midway.
#include "tests/e2e/remote_e2e_support.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <thread>

namespace stasis::remote::e2e {
namespace {

using namespace std::chrono_literals;

class ARegistryFault : public RemoteE2e {};

// The data files of the registry's blobs, largest first.
std::vector<std::pair<std::uint64_t, fs::path>> blob_files(const fs::path& storage) {
  std::vector<std::pair<std::uint64_t, fs::path>> out;
  auto dir = storage / "docker/registry/v2/blobs/sha256";
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename() == "data" && it->is_regular_file()) {
      out.emplace_back(it->file_size(), it->path());
    }
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

TEST_F(ARegistryFault, RefusesAWrongPasswordNamingTheRegistryButNotTheSecret) {
  auto a = open_store("a");
  auto id = checkpoint(a, "svc", memory(16, 1));
  auto opts = options();
  opts.credentials->password = "wrong-Pa55word";
  auto pushed = push_checkpoint(a, "svc", id, ref("fleet/svc"), opts, "hosta");
  ASSERT_FALSE(pushed);
  const auto& msg = pushed.error().message;
  EXPECT_NE(msg.find("registry " + registry().host() +
                     " refused the credentials of user 'stasis'"),
            std::string::npos)
      << msg;
  EXPECT_EQ(msg.find("wrong-Pa55word"), std::string::npos) << msg;
  opts.credentials.reset();
  auto listed = list_checkpoints(ref("fleet/svc"), opts);
  ASSERT_FALSE(listed);
  EXPECT_NE(listed.error().message.find("needs credentials"), std::string::npos)
      << listed.error().message;
}

TEST_F(ARegistryFault, SaysARegistryThatDoesNotRunCannotBeReached) {
  auto a = open_store("a");
  auto id = checkpoint(a, "svc", memory(16, 1));
  auto host = registry().host();
  registry().stop();
  auto pushed = push_checkpoint(a, "svc", id, ref("fleet/svc"), options(), "hosta");
  ASSERT_FALSE(pushed);
  EXPECT_NE(pushed.error().message.find("cannot reach registry " + host),
            std::string::npos)
      << pushed.error().message;
  auto b = open_store("b");
  auto pulled = pull_checkpoint(b, ref("fleet/svc", "svc-latest"), "svc", options());
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find("cannot reach registry " + host),
            std::string::npos)
      << pulled.error().message;
}

TEST_F(ARegistryFault, RefusesACorruptedBundleNamingItsDigestAndLeavesTheStoreUnchanged) {
  auto a = open_store("a");
  auto id = checkpoint(a, "svc", memory(1024, 2));
  ASSERT_TRUE(push_checkpoint(a, "svc", id, ref("fleet/svc"), options(), "hosta"));
  // The largest blob is the bundle of the chunks.
  auto blobs = blob_files(registry().storage());
  ASSERT_FALSE(blobs.empty());
  const auto data = blobs.front().second;
  const auto digest = "sha256:" + data.parent_path().filename().string();
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    char c = 0;
    f.read(&c, 1);
    f.seekp(1000);
    c = static_cast<char>(c ^ 0x5a);
    f.write(&c, 1);
  }
  auto b = open_store("b");
  // A store that already has something: it must stay as it was.
  auto own = checkpoint(b, "mine", memory(16, 3));
  auto before = b.usage();
  ASSERT_TRUE(before);
  auto pulled = pull_checkpoint(b, ref("fleet/svc", "svc-latest"), "svc", options());
  ASSERT_FALSE(pulled);
  EXPECT_NE(pulled.error().message.find(digest), std::string::npos)
      << pulled.error().message;
  EXPECT_NE(pulled.error().message.find("fleet/svc"), std::string::npos)
      << pulled.error().message;
  EXPECT_TRUE(b.list("svc")->empty());
  auto after = b.usage();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->pack_bytes, before->pack_bytes);
  EXPECT_EQ(files(b, "mine", own).size(), 4U);
  auto fsck = b.fsck(true);
  ASSERT_TRUE(fsck);
  EXPECT_TRUE(fsck->ok());
}

TEST_F(ARegistryFault, LeavesNoPartialCheckpointWhenAPushIsKilledMidway) {
  auto a = open_store("a");
  auto id = checkpoint(a, "svc", memory(16384, 4)); // 64 MiB: four bundles
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto r = push_checkpoint(a, "svc", id, ref("fleet/svc"), options(), "hosta");
    ::_exit(r ? 0 : 1);
  }
  // Kill it as soon as its first bundle is in the registry.
  bool seen = false;
  for (int i = 0; i < 60000 && !seen; ++i) {
    for (const auto& [size, file] : blob_files(registry().storage())) {
      seen = seen || size > (1 << 20);
    }
    if (!seen) {
      std::this_thread::sleep_for(1ms);
    }
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(seen) << "the push never uploaded a bundle";
  ASSERT_TRUE(WIFSIGNALED(status)) << "the push ended before it was killed";

  auto listed = list_checkpoints(ref("fleet/svc"), options());
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_TRUE(listed->empty());
  auto b = open_store("b");
  EXPECT_FALSE(pull_checkpoint(b, ref("fleet/svc", "svc-latest"), "svc", options()));

  auto pushed = push_checkpoint(a, "svc", id, ref("fleet/svc"), options(), "hosta");
  ASSERT_TRUE(pushed) << pushed.error().message;
  EXPECT_GE(pushed->blobs_present, 1U); // the bundle the killed push left
  auto pulled = pull_checkpoint(b, ref("fleet/svc", "svc-latest"), "svc", options());
  ASSERT_TRUE(pulled) << pulled.error().message;
  EXPECT_EQ(files(b, "svc", pulled->checkpoint.id), files(a, "svc", id));
  // The killed push's staging dir is gone too.
  std::size_t staging = 0;
  for (const auto& e : fs::directory_iterator(a.root() / "remote")) {
    staging += e.path().filename().string().starts_with("push-") ? 1 : 0;
  }
  EXPECT_EQ(staging, 0U);
}

} // namespace
} // namespace stasis::remote::e2e
