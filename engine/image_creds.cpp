#include "engine/image_creds.hpp"

#include "engine/criu_images.pb.h"
#include "engine/image_file.hpp"
#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace stasis::engine {
namespace {

constexpr std::uint32_t k_core_magic = 0x55053847;
constexpr std::uint32_t k_mm_magic = 0x57492820;
// task_core_entry.task_state of a zombie (CRIU's TASK_DEAD).
constexpr std::uint32_t k_task_dead = 2;

std::uint64_t cap_set(const google::protobuf::RepeatedField<std::uint32_t>& words) {
  std::uint64_t set = 0;
  for (int i = 0; i < words.size() && i < 2; ++i) {
    set |= static_cast<std::uint64_t>(words.Get(i)) << (32 * i);
  }
  return set;
}

Result<TaskCreds> read_task(int dir_fd, pid_t process, pid_t tid, int dumpable) {
  const std::string name = fmt::format("core-{}.img", tid);
  const auto image = STASIS_TRY(read_image(dir_fd, name, k_max_core_image_bytes));
  const auto entries = STASIS_TRY(entries_of(image, k_core_magic, name));
  if (entries.size() != 1) {
    return make_error("{} holds {} entries, not one", name, entries.size());
  }
  const auto core = STASIS_TRY(parse_entry<images::CoreEntry>(entries[0], name));
  TaskCreds task;
  task.process = process;
  task.tid = tid;
  task.dumpable = dumpable;
  if (!core.has_thread_core() || !core.thread_core().has_creds()) {
    if (core.has_tc() && core.tc().task_state() == k_task_dead) {
      task.zombie = true;
      return task;
    }
    return make_error("{} records no credentials", name);
  }
  const auto& c = core.thread_core().creds();
  task.uid = c.uid();
  task.euid = c.euid();
  task.suid = c.suid();
  task.fsuid = c.fsuid();
  task.gid = c.gid();
  task.egid = c.egid();
  task.sgid = c.sgid();
  task.fsgid = c.fsgid();
  task.groups.assign(c.groups().begin(), c.groups().end());
  task.cap_inh = cap_set(c.cap_inh());
  task.cap_prm = cap_set(c.cap_prm());
  task.cap_eff = cap_set(c.cap_eff());
  task.cap_bnd = cap_set(c.cap_bnd());
  task.cap_amb = cap_set(c.cap_amb());
  task.secbits = c.secbits();
  task.no_new_privs = c.no_new_privs() != 0;
  return task;
}

// The mm image's dumpable flag; -1 when there is none (zombies, old CRIU).
int read_dumpable(int dir_fd, pid_t process) {
  const std::string name = fmt::format("mm-{}.img", process);
  auto image = read_image(dir_fd, name, k_max_core_image_bytes);
  if (!image) {
    return -1;
  }
  auto entries = entries_of(*image, k_mm_magic, name);
  if (!entries || entries->size() != 1) {
    return -1;
  }
  auto mm = parse_entry<images::MmEntry>((*entries)[0], name);
  return mm && mm->has_dumpable() ? mm->dumpable() : -1;
}

} // namespace

bool TaskCreds::runs_as(uid_t u, gid_t g) const {
  return uid == u && euid == u && suid == u && fsuid == u && gid == g && egid == g &&
         sgid == g && fsgid == g;
}

bool TaskCreds::holds_capabilities() const {
  return (cap_inh | cap_prm | cap_eff | cap_amb) != 0;
}

Result<TreeCreds> read_tree_creds(int images_dir_fd) {
  const std::string name = "pstree.img";
  const auto image =
      STASIS_TRY(read_image(images_dir_fd, name, k_max_pstree_image_bytes));
  const auto entries = STASIS_TRY(entries_of(image, k_pstree_magic, name));
  if (entries.empty()) {
    return make_error("{} names no process", name);
  }
  TreeCreds tree;
  for (const auto bytes : entries) {
    const auto entry = STASIS_TRY(parse_entry<images::PstreeEntry>(bytes, name));
    const auto process = static_cast<pid_t>(entry.pid());
    if (process <= 0) {
      return make_error("{} names pid {}", name, entry.pid());
    }
    const int dumpable = read_dumpable(images_dir_fd, process);
    if (tree.tasks.size() >= k_max_image_tasks) {
      return make_error("the images hold more than {} tasks", k_max_image_tasks);
    }
    auto main_task = STASIS_TRY(read_task(images_dir_fd, process, process, dumpable));
    const bool zombie = main_task.zombie;
    tree.tasks.push_back(std::move(main_task));
    if (zombie) {
      continue; // CRIU records no threads of a zombie (its list may hold garbage)
    }
    for (const auto tid : entry.threads()) {
      if (static_cast<pid_t>(tid) == process) {
        continue;
      }
      if (tid == 0 || tid > static_cast<std::uint32_t>(INT32_MAX)) {
        return make_error("{} names thread {}", name, tid);
      }
      if (tree.tasks.size() >= k_max_image_tasks) {
        return make_error("the images hold more than {} tasks", k_max_image_tasks);
      }
      tree.tasks.push_back(STASIS_TRY(
          read_task(images_dir_fd, process, static_cast<pid_t>(tid), dumpable)));
    }
  }
  return tree;
}

namespace {

std::uint32_t u32_at(std::string_view bytes, std::size_t offset) {
  std::uint32_t value;
  std::memcpy(&value, bytes.data() + offset, sizeof(value)); // images are host-endian
  return value;
}

} // namespace

Result<std::vector<std::string_view>>
entries_of(std::string_view image, std::uint32_t magic, const std::string& name) {
  if (image.size() < 8 || u32_at(image, 0) != k_img_common_magic ||
      u32_at(image, 4) != magic) {
    return make_error("{} is not the CRIU image it should be (bad magic)", name);
  }
  std::vector<std::string_view> entries;
  std::size_t pos = 8;
  while (pos < image.size()) {
    if (image.size() - pos < 4) {
      return make_error("{} is truncated", name);
    }
    const std::uint32_t size = u32_at(image, pos);
    pos += 4;
    if (size > image.size() - pos) {
      return make_error("{} is truncated (an entry of {} bytes)", name, size);
    }
    entries.push_back(image.substr(pos, size));
    pos += size;
  }
  return entries;
}

Result<std::string> read_image(int dir_fd, const std::string& name, std::size_t limit) {
  util::UniqueFd fd(
      ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    return make_error("cannot open {}: {}", name, std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error("{} is not a regular file", name);
  }
  if (static_cast<std::uint64_t>(st.st_size) > limit) {
    return make_error("{} has {} bytes, more than the {} an image of its kind may have",
                      name, st.st_size, limit);
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      return make_error("cannot read {}: {}", name,
                        got < 0 ? std::strerror(errno) : "it is shorter than its size");
    }
    done += static_cast<std::size_t>(got);
  }
  return bytes;
}

} // namespace stasis::engine
