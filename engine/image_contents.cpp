#include "engine/image_contents.hpp"

#include "engine/criu_images.pb.h"
#include "engine/image_contents_text.hpp"
#include "engine/image_file.hpp"

#include <algorithm>
#include <map>
#include <string_view>

#include <fmt/format.h>

namespace stasis::engine {
namespace {

using namespace image_text;

// Magic numbers of the images read here (criu/include/magic.h).
constexpr std::uint32_t k_inventory_magic = 0x58313116;
constexpr std::uint32_t k_core_magic = 0x55053847;
constexpr std::uint32_t k_mm_magic = 0x57492820;
constexpr std::uint32_t k_fdinfo_magic = 0x56213732;
constexpr std::uint32_t k_ids_magic = 0x54432030;
constexpr std::uint32_t k_files_magic = 0x56303138;
constexpr std::uint32_t k_cpuinfo_magic = 0x61404013;
constexpr std::uint32_t k_remap_fpath_magic = 0x59133954;

// CRIU's fd_types (images/fdinfo.proto).
constexpr std::uint32_t k_fd_reg = 1;
constexpr std::uint32_t k_fd_inetsk = 4;
constexpr std::uint32_t k_fd_unixsk = 5;

// CRIU's VMA_* status bits of file mappings (criu/include/image.h).
constexpr std::uint32_t k_vma_file_private = 1U << 6;
constexpr std::uint32_t k_vma_file_shared = 1U << 7;

// The entries of an image the checkpoint may lack (empty then).
Result<std::vector<std::string>> optional_entries(const ImageSource& source,
                                                  const std::string& name,
                                                  std::uint32_t magic) {
  auto bytes = STASIS_TRY(source(name, k_max_inspected_image_bytes));
  if (!bytes) {
    return std::vector<std::string>{};
  }
  auto views = STASIS_TRY(entries_of(*bytes, magic, name));
  if (views.size() > k_max_inspected_items) {
    return make_error("{} holds more than {} entries", name, k_max_inspected_items);
  }
  return std::vector<std::string>(views.begin(), views.end());
}

// The one entry of an image (a core or mm image); nullopt when it is absent.
template <typename Message>
Result<std::optional<Message>>
single_entry(const ImageSource& source, const std::string& name, std::uint32_t magic) {
  auto entries = STASIS_TRY(optional_entries(source, name, magic));
  if (entries.empty()) {
    return std::optional<Message>{};
  }
  if (entries.size() != 1) {
    return make_error("{} holds {} entries, not one", name, entries.size());
  }
  return std::optional<Message>(STASIS_TRY(parse_entry<Message>(entries[0], name)));
}

// files.img: regular files and sockets by id.
struct FileTable {
  std::map<std::uint32_t, FileInfo> files;
  std::map<std::uint32_t, SocketInfo> sockets;
};

Result<FileTable> read_files(const ImageSource& source) {
  const std::string name = "files.img";
  auto entries = STASIS_TRY(optional_entries(source, name, k_files_magic));
  std::vector<images::FileEntry> parsed;
  std::map<std::uint32_t, std::string> unix_names;
  for (const auto& bytes : entries) {
    parsed.push_back(STASIS_TRY(parse_entry<images::FileEntry>(bytes, name)));
    if (parsed.back().has_usk()) {
      unix_names[parsed.back().usk().ino()] = unix_name(parsed.back().usk());
    }
  }
  FileTable table;
  for (const auto& entry : parsed) {
    if (entry.type() == k_fd_reg && entry.has_reg()) {
      const auto& r = entry.reg();
      table.files[entry.id()] =
          FileInfo{entry.id(), r.name(), r.size(), r.pos(), r.flags(), r.mode(), false};
    } else if (entry.type() == k_fd_inetsk && entry.has_isk()) {
      table.sockets[entry.id()] = inet_socket(entry.isk());
    } else if (entry.type() == k_fd_unixsk && entry.has_usk()) {
      table.sockets[entry.id()] = unix_socket(entry.usk(), unix_names);
    }
  }
  const std::string remaps = "remap-fpath.img";
  for (const auto& bytes :
       STASIS_TRY(optional_entries(source, remaps, k_remap_fpath_magic))) {
    const auto remap = STASIS_TRY(parse_entry<images::RemapFilePathEntry>(bytes, remaps));
    if (auto f = table.files.find(remap.orig_id()); f != table.files.end()) {
      f->second.remapped = true;
    }
  }
  return table;
}

Result<std::vector<DescriptorInfo>> read_descriptors(const ImageSource& source,
                                                     std::uint32_t files_id,
                                                     const FileTable& table) {
  const std::string name = fmt::format("fdinfo-{}.img", files_id);
  std::vector<DescriptorInfo> descriptors;
  for (const auto& bytes : STASIS_TRY(optional_entries(source, name, k_fdinfo_magic))) {
    const auto fd = STASIS_TRY(parse_entry<images::FdinfoEntry>(bytes, name));
    DescriptorInfo d;
    d.fd = static_cast<int>(fd.fd());
    d.file_id = fd.id();
    d.type = fd_type_text(fd.type());
    if (auto f = table.files.find(fd.id()); f != table.files.end()) {
      d.target = f->second.path;
    } else if (auto s = table.sockets.find(fd.id()); s != table.sockets.end()) {
      d.type = s->second.kind;
      const auto& local = s->second.local;
      d.target = (local.empty() ? std::string("(unnamed)") : local) +
                 (s->second.remote.empty() ? "" : " -> ") + s->second.remote;
    }
    descriptors.push_back(std::move(d));
  }
  std::sort(descriptors.begin(), descriptors.end(),
            [](const auto& a, const auto& b) { return a.fd < b.fd; });
  return descriptors;
}

// Reads the core and mm images of one process into p.
Result<void>
read_process(const ImageSource& source, ProcessInfo& p, const FileTable& table,
             std::string& arch,
             std::map<std::uint32_t, std::vector<DescriptorInfo>>& fd_tables) {
  const std::string core_name = fmt::format("core-{}.img", p.pid);
  auto core =
      STASIS_TRY(single_entry<images::CoreEntry>(source, core_name, k_core_magic));
  if (!core) {
    return make_error("the checkpoint has no {}", core_name);
  }
  if (arch.empty()) {
    arch = arch_text(core->mtype());
  }
  p.comm = core->tc().comm();
  switch (core->tc().task_state()) {
  case 2:
    p.state = "zombie";
    break;
  case 3:
    p.state = "stopped";
    break;
  default:
    p.state = "alive";
  }
  if (core->has_thread_core() && core->thread_core().has_creds()) {
    p.uid = core->thread_core().creds().uid();
    p.gid = core->thread_core().creds().gid();
  }
  // The task's kernel object ids: ids-PID.img (older CRIU: in the core image).
  auto ids = STASIS_TRY(single_entry<images::TaskKobjIdsEntry>(
      source, fmt::format("ids-{}.img", p.pid), k_ids_magic));
  if (!ids && core->has_ids()) {
    ids = core->ids();
  }
  if (ids) {
    const auto files_id = ids->files_id();
    if (!fd_tables.contains(files_id)) {
      fd_tables[files_id] = STASIS_TRY(read_descriptors(source, files_id, table));
    }
    p.descriptors = fd_tables[files_id];
  }
  const std::string mm_name = fmt::format("mm-{}.img", p.pid);
  auto mm = STASIS_TRY(single_entry<images::MmEntry>(source, mm_name, k_mm_magic));
  if (!mm) {
    return ok(); // a zombie has no memory
  }
  if (auto exe = table.files.find(mm->exe_file_id()); exe != table.files.end()) {
    p.exe = exe->second.path;
  }
  for (const auto& vma : mm->vmas()) {
    MappingInfo m;
    m.start = vma.start();
    m.end = vma.end();
    m.pgoff = vma.pgoff();
    m.prot = vma.prot();
    m.flags = vma.flags();
    m.status = vma.status();
    m.kind = mapping_kind(vma.status());
    if (m.kind == "anon" && m.start <= mm->mm_start_stack() &&
        mm->mm_start_stack() < m.end) {
      m.kind = "stack"; // CRIU marks the main stack as a plain anonymous mapping
    }
    if (vma.status() & (k_vma_file_private | k_vma_file_shared)) {
      if (auto f = table.files.find(static_cast<std::uint32_t>(vma.shmid()));
          f != table.files.end()) {
        m.path = f->second.path;
      }
    }
    p.mappings.push_back(std::move(m));
  }
  std::sort(p.mappings.begin(), p.mappings.end(),
            [](const auto& a, const auto& b) { return a.start < b.start; });
  return ok();
}

Result<std::optional<CpuInfo>> read_cpu(const ImageSource& source) {
  auto entry = STASIS_TRY(
      single_entry<images::CpuinfoEntry>(source, "cpuinfo.img", k_cpuinfo_magic));
  if (!entry || entry->x86_entry_size() == 0) {
    return std::optional<CpuInfo>{};
  }
  const auto& x = entry->x86_entry(0);
  CpuInfo cpu;
  cpu.vendor = x.vendor_id() == 1 ? "Intel" : x.vendor_id() == 2 ? "AMD" : "unknown";
  cpu.family = x.cpu_family();
  cpu.model = x.model();
  cpu.stepping = x.stepping();
  cpu.model_id = x.model_id();
  cpu.capability_words = static_cast<std::uint32_t>(x.capability_size());
  cpu.xfeatures_mask = x.xfeatures_mask();
  return std::optional<CpuInfo>(cpu);
}

} // namespace

Result<ImageContents> read_image_contents(const ImageSource& source) {
  ImageContents contents;
  // inventory.img alone has no common magic ahead of its own (CRIU's image.c).
  const ImageSource inventory_source =
      [&](const std::string& name,
          std::size_t limit) -> Result<std::optional<std::string>> {
    auto bytes = STASIS_TRY(source(name, limit));
    if (bytes) {
      bytes->insert(0, reinterpret_cast<const char*>(&k_img_common_magic),
                    sizeof k_img_common_magic);
    }
    return bytes;
  };
  if (auto inventory = STASIS_TRY(single_entry<images::InventoryEntry>(
          inventory_source, "inventory.img", k_inventory_magic))) {
    contents.image_version = inventory->img_version();
    contents.tcp_close = inventory->tcp_close();
  }
  const std::string pstree = "pstree.img";
  auto pstree_bytes = STASIS_TRY(source(pstree, k_max_inspected_image_bytes));
  if (!pstree_bytes) {
    return make_error("the checkpoint has no {}: it holds no process tree", pstree);
  }
  const auto entries = STASIS_TRY(entries_of(*pstree_bytes, k_pstree_magic, pstree));
  if (entries.empty()) {
    return make_error("{} names no process", pstree);
  }
  if (entries.size() > k_max_inspected_items) {
    return make_error("{} names more than {} processes", pstree, k_max_inspected_items);
  }
  const FileTable table = STASIS_TRY(read_files(source));
  std::map<std::uint32_t, std::vector<DescriptorInfo>> fd_tables;
  std::size_t items = 0;
  for (const auto bytes : entries) {
    const auto entry = STASIS_TRY(parse_entry<images::PstreeEntry>(bytes, pstree));
    if (entry.pid() == 0 || entry.pid() > static_cast<std::uint32_t>(INT32_MAX)) {
      return make_error("{} names pid {}", pstree, entry.pid());
    }
    ProcessInfo p;
    p.pid = static_cast<pid_t>(entry.pid());
    p.ppid = static_cast<pid_t>(entry.ppid());
    p.pgid = static_cast<pid_t>(entry.pgid());
    p.sid = static_cast<pid_t>(entry.sid());
    for (const auto tid : entry.threads()) {
      p.threads.push_back(static_cast<pid_t>(tid));
    }
    STASIS_TRY(read_process(source, p, table, contents.arch, fd_tables));
    items += 1 + p.threads.size() + p.mappings.size() + p.descriptors.size();
    if (items > k_max_inspected_items) {
      return make_error("the checkpoint describes more than {} processes, threads, "
                        "mappings and descriptors",
                        k_max_inspected_items);
    }
    contents.processes.push_back(std::move(p));
  }
  for (const auto& [id, file] : table.files) {
    contents.files.push_back(file);
  }
  for (const auto& [id, socket] : table.sockets) {
    contents.sockets.push_back(socket);
  }
  contents.cpu = STASIS_TRY(read_cpu(source));
  return contents;
}

} // namespace stasis::engine
