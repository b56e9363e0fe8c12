// read_image_contents over images built here with CRIU's field numbers: what
// it reads from a small tree, and how it refuses malformed or oversized
// images (an export file is untrusted input).
#include "engine/criu_images.pb.h"
#include "engine/image_contents.hpp"

#include <cstring>
#include <map>
#include <tuple>

#include <gtest/gtest.h>

namespace stasis::engine {
namespace {

constexpr std::uint32_t k_common = 0x54564319;

// An image: the two magics, then (size, message) pairs.
std::string image(std::uint32_t magic, const std::vector<std::string>& entries) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &k_common, 4);
  std::memcpy(out.data() + 4, &magic, 4);
  for (const auto& e : entries) {
    const auto size = static_cast<std::uint32_t>(e.size());
    out.append(reinterpret_cast<const char*>(&size), 4);
    out += e;
  }
  return out;
}

struct FakeImages {
  std::map<std::string, std::string> files;
  ImageSource source() const {
    return [this](const std::string& name,
                  std::size_t limit) -> Result<std::optional<std::string>> {
      auto it = files.find(name);
      if (it == files.end()) {
        return std::optional<std::string>{};
      }
      if (it->second.size() > limit) {
        return make_error("{} is larger than {}", name, limit);
      }
      return std::optional<std::string>(it->second);
    };
  }
};

// One process (pid 42) holding /srv/data open as fd 3 and mapping /usr/bin/app.
FakeImages small_tree() {
  FakeImages images;
  images::PstreeEntry pstree;
  pstree.set_pid(42);
  pstree.set_ppid(1);
  pstree.add_threads(42);
  images.files["pstree.img"] = image(0x50273030, {pstree.SerializeAsString()});

  images::CoreEntry core;
  core.set_mtype(1);
  core.mutable_tc()->set_task_state(1);
  core.mutable_tc()->set_comm("app");
  core.mutable_thread_core()->mutable_creds()->set_uid(1000);
  images.files["core-42.img"] = image(0x55053847, {core.SerializeAsString()});
  images::TaskKobjIdsEntry ids;
  ids.set_files_id(7);
  images.files["ids-42.img"] = image(0x54432030, {ids.SerializeAsString()});
  // inventory.img alone carries no common magic, only its own.
  images::InventoryEntry inventory;
  inventory.set_img_version(2);
  const std::uint32_t inventory_magic = 0x58313116;
  std::string inventory_image(reinterpret_cast<const char*>(&inventory_magic), 4);
  const auto inventory_bytes = inventory.SerializeAsString();
  const auto inventory_size = static_cast<std::uint32_t>(inventory_bytes.size());
  inventory_image.append(reinterpret_cast<const char*>(&inventory_size), 4);
  images.files["inventory.img"] = inventory_image + inventory_bytes;

  images::MmEntry mm;
  mm.set_exe_file_id(2);
  auto* text = mm.add_vmas();
  text->set_start(0x400000);
  text->set_end(0x401000);
  text->set_prot(5);
  text->set_flags(2);
  text->set_status((1U << 0) | (1U << 6));
  text->set_shmid(2);
  auto* heap = mm.add_vmas();
  heap->set_start(0x1000000);
  heap->set_end(0x1021000);
  heap->set_prot(3);
  heap->set_status((1U << 0) | (1U << 5) | (1U << 9));
  images.files["mm-42.img"] = image(0x57492820, {mm.SerializeAsString()});

  std::vector<std::string> files;
  for (const auto& [id, path] : {std::pair{1U, "/srv/data"}, {2U, "/usr/bin/app"}}) {
    images::FileEntry f;
    f.set_type(1);
    f.set_id(id);
    f.mutable_reg()->set_id(id);
    f.mutable_reg()->set_name(path);
    f.mutable_reg()->set_size(100);
    files.push_back(f.SerializeAsString());
  }
  images.files["files.img"] = image(0x56303138, files);

  images::FdinfoEntry fd;
  fd.set_fd(3);
  fd.set_id(1);
  fd.set_type(1);
  images.files["fdinfo-7.img"] = image(0x56213732, {fd.SerializeAsString()});
  return images;
}

TEST(AnImageContentsReader, ReadsTheTreeItsMappingsDescriptorsAndFiles) {
  const auto images = small_tree();
  auto contents = read_image_contents(images.source());
  ASSERT_TRUE(contents) << contents.error().message;
  EXPECT_EQ(contents->arch, "x86_64");
  EXPECT_EQ(contents->image_version, 2u);
  ASSERT_EQ(contents->processes.size(), 1u);
  const auto& p = contents->processes[0];
  EXPECT_EQ(p.pid, 42);
  EXPECT_EQ(p.comm, "app");
  EXPECT_EQ(p.uid, 1000u);
  EXPECT_EQ(p.exe, "/usr/bin/app");
  ASSERT_EQ(p.mappings.size(), 2u);
  EXPECT_EQ(p.mappings[0].kind, "file");
  EXPECT_EQ(p.mappings[0].path, "/usr/bin/app");
  EXPECT_EQ(p.mappings[1].kind, "heap");
  ASSERT_EQ(p.descriptors.size(), 1u);
  EXPECT_EQ(p.descriptors[0].fd, 3);
  EXPECT_EQ(p.descriptors[0].type, "file");
  EXPECT_EQ(p.descriptors[0].target, "/srv/data");
  EXPECT_EQ(contents->files.size(), 2u);
  EXPECT_FALSE(contents->cpu);
}

TEST(AnImageContentsReader, NamesTcpAndUnixSocketsAndTheDescriptorsHoldingThem) {
  auto images = small_tree();
  std::vector<std::string> files;
  images::FileEntry tcp;
  tcp.set_type(4);
  tcp.set_id(10);
  auto* isk = tcp.mutable_isk();
  isk->set_id(10);
  isk->set_family(2); // AF_INET
  isk->set_type(1);   // SOCK_STREAM
  isk->set_proto(6);  // IPPROTO_TCP
  isk->set_state(10); // TCP_LISTEN
  isk->set_src_port(8080);
  isk->add_src_addr(0x0100007f); // 127.0.0.1 as the kernel's bytes, read on x86
  files.push_back(tcp.SerializeAsString());
  for (const auto& [id, ino, peer, name] :
       {std::tuple{11U, 100U, 101U, std::string("/run/app.sock")},
        std::tuple{12U, 101U, 100U, std::string()}}) {
    images::FileEntry unix_entry;
    unix_entry.set_type(5);
    unix_entry.set_id(id);
    auto* usk = unix_entry.mutable_usk();
    usk->set_id(id);
    usk->set_ino(ino);
    usk->set_type(1);
    usk->set_state(1); // established
    usk->set_peer(peer);
    usk->set_name(name);
    files.push_back(unix_entry.SerializeAsString());
  }
  images.files["files.img"] = image(0x56303138, files);
  std::vector<std::string> fds;
  for (const auto& [fd, id, type] : {std::tuple{4U, 10U, 4U}, {5U, 12U, 5U}}) {
    images::FdinfoEntry entry;
    entry.set_fd(fd);
    entry.set_id(id);
    entry.set_type(type);
    fds.push_back(entry.SerializeAsString());
  }
  images.files["fdinfo-7.img"] = image(0x56213732, fds);

  auto contents = read_image_contents(images.source());
  ASSERT_TRUE(contents) << contents.error().message;
  ASSERT_EQ(contents->sockets.size(), 3u);
  EXPECT_EQ(contents->sockets[0].kind, "tcp");
  EXPECT_EQ(contents->sockets[0].state, "listen");
  EXPECT_EQ(contents->sockets[0].local, "127.0.0.1:8080");
  EXPECT_EQ(contents->sockets[1].kind, "unix-stream");
  EXPECT_EQ(contents->sockets[1].local, "/run/app.sock");
  EXPECT_EQ(contents->sockets[2].remote, "/run/app.sock");
  const auto& d = contents->processes[0].descriptors;
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].type, "tcp");
  EXPECT_EQ(d[0].target, "127.0.0.1:8080");
  EXPECT_EQ(d[1].type, "unix-stream");
  EXPECT_EQ(d[1].target, "(unnamed) -> /run/app.sock");
}

TEST(AnImageContentsReader, RefusesATreeWithoutPstreeAndImagesWithABadMagic) {
  auto images = small_tree();
  images.files.erase("pstree.img");
  auto missing = read_image_contents(images.source());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("no pstree.img"), std::string::npos);

  images = small_tree();
  images.files["files.img"] = "not an image at all";
  auto bad = read_image_contents(images.source());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("files.img"), std::string::npos)
      << bad.error().message;

  images = small_tree();
  images.files["core-42.img"].resize(images.files["core-42.img"].size() - 3);
  auto cut = read_image_contents(images.source());
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().message.find("truncated"), std::string::npos)
      << cut.error().message;
}

TEST(AnImageContentsReader, RefusesMoreEntriesThanItListsAndImagesLargerThanItReads) {
  auto images = small_tree();
  // One entry more than k_max_inspected_items, each an empty message.
  std::string many = image(0x56213732, {});
  const std::uint32_t zero = 0;
  for (std::size_t i = 0; i <= k_max_inspected_items; ++i) {
    many.append(reinterpret_cast<const char*>(&zero), 4);
  }
  images.files["fdinfo-7.img"] = many;
  auto too_many = read_image_contents(images.source());
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().message.find("more than"), std::string::npos)
      << too_many.error().message;

  images = small_tree();
  images.files["mm-42.img"] = std::string(k_max_inspected_image_bytes + 1, 'x');
  auto too_large = read_image_contents(images.source());
  ASSERT_FALSE(too_large);
  EXPECT_NE(too_large.error().message.find("larger"), std::string::npos)
      << too_large.error().message;
}

} // namespace
} // namespace stasis::engine
