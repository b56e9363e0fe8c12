#include "engine/shell_job_session.hpp"

#include "engine/criu_images.pb.h"
#include "engine/image_creds.hpp"
#include "engine/image_file.hpp"
#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::engine {
namespace {

constexpr const char* k_pstree = "pstree.img";
constexpr const char* k_pstree_new = "pstree.img.session";

void put_u32(std::string& out, std::uint32_t value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value)); // host-endian
}

Result<void> write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (wrote < 0 && errno == EINTR) {
      continue;
    }
    if (wrote <= 0) {
      return make_error("cannot write {}: {}", k_pstree_new, std::strerror(errno));
    }
    done += static_cast<std::size_t>(wrote);
  }
  return ok();
}

} // namespace

Result<void> make_root_lead_its_session(const std::filesystem::path& images_dir) {
  util::UniqueFd dir(
      ::open(images_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) {
    return make_error("cannot open the images {}: {}", images_dir.string(),
                      std::strerror(errno));
  }
  const auto image =
      STASIS_TRY(read_image(dir.get(), k_pstree, k_max_pstree_image_bytes));
  const auto entries = STASIS_TRY(entries_of(image, k_pstree_magic, k_pstree));
  if (entries.empty()) {
    return make_error("{} names no process", k_pstree);
  }
  std::vector<images::PstreeEntry> tree(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!tree[i].ParseFromArray(entries[i].data(), static_cast<int>(entries[i].size()))) {
      return make_error("{} holds an unreadable entry", k_pstree);
    }
  }
  const std::uint32_t root = tree.front().pid();
  const std::uint32_t old_sid = tree.front().sid();
  const std::uint32_t old_pgid = tree.front().pgid();
  if (root == 0) {
    return make_error("{} names pid 0", k_pstree);
  }
  if (old_sid == root) {
    return ok();
  }
  // Protobuf keeps the fields our message leaves out: they are written back.
  std::string out;
  put_u32(out, k_img_common_magic);
  put_u32(out, k_pstree_magic);
  for (auto& process : tree) {
    if (process.sid() == old_sid) {
      process.set_sid(root);
    }
    if (process.pgid() == old_pgid || process.pgid() == old_sid) {
      process.set_pgid(root);
    }
    std::string bytes;
    if (!process.SerializeToString(&bytes)) {
      return make_error("cannot encode an entry of {}", k_pstree);
    }
    put_u32(out, static_cast<std::uint32_t>(bytes.size()));
    out += bytes;
  }
  ::unlinkat(dir.get(), k_pstree_new, 0);
  util::UniqueFd file(::openat(dir.get(), k_pstree_new,
                               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                               0644));
  if (!file) {
    return make_error("cannot create {}/{}: {}", images_dir.string(), k_pstree_new,
                      std::strerror(errno));
  }
  STASIS_TRY(write_all(file.get(), out));
  file.reset();
  if (::renameat(dir.get(), k_pstree_new, dir.get(), k_pstree) != 0) {
    return make_error("cannot replace {}/{}: {}", images_dir.string(), k_pstree,
                      std::strerror(errno));
  }
  return ok();
}

} // namespace stasis::engine
