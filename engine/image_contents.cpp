#include "engine/image_contents.hpp"

#include "engine/criu_images.pb.h"
#include "engine/image_file.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <map>
#include <netinet/in.h>
#include <string_view>
#include <sys/socket.h>

#include <fmt/format.h>

namespace stasis::engine {
namespace {

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

// CRIU's VMA_* status bits (criu/include/image.h).
constexpr std::uint32_t k_vma_stack = 1U << 1;
constexpr std::uint32_t k_vma_vsyscall = 1U << 2;
constexpr std::uint32_t k_vma_vdso = 1U << 3;
constexpr std::uint32_t k_vma_heap = 1U << 5;
constexpr std::uint32_t k_vma_file_private = 1U << 6;
constexpr std::uint32_t k_vma_file_shared = 1U << 7;
constexpr std::uint32_t k_vma_anon_shared = 1U << 8;
constexpr std::uint32_t k_vma_sysvipc = 1U << 10;
constexpr std::uint32_t k_vma_socket = 1U << 11;
constexpr std::uint32_t k_vma_vvar = 1U << 12;
constexpr std::uint32_t k_vma_aioring = 1U << 13;
constexpr std::uint32_t k_vma_memfd = 1U << 14;

template <typename Message>
Result<Message> parse(std::string_view bytes, const std::string& name) {
  Message message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return make_error("{} holds an unreadable entry", name);
  }
  return message;
}

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
  return std::optional<Message>(STASIS_TRY(parse<Message>(entries[0], name)));
}

std::string address_text(std::uint32_t family,
                         const google::protobuf::RepeatedField<std::uint32_t>& words,
                         std::uint32_t port) {
  char text[INET6_ADDRSTRLEN] = "?";
  // The words hold the address bytes as the kernel gave them (network order).
  if (family == AF_INET && words.size() >= 1) {
    in_addr a{};
    std::memcpy(&a, words.data(), sizeof a);
    ::inet_ntop(AF_INET, &a, text, sizeof text);
    return fmt::format("{}:{}", text, port);
  }
  if (family == AF_INET6 && words.size() >= 4) {
    in6_addr a{};
    std::memcpy(&a, words.data(), sizeof a);
    ::inet_ntop(AF_INET6, &a, text, sizeof text);
    return fmt::format("[{}]:{}", text, port);
  }
  return fmt::format("?:{}", port);
}

// Linux's TCP_* states, which CRIU also records for unix sockets.
std::string state_text(std::uint32_t state) {
  static constexpr const char* names[] = {
      "",          "established", "syn-sent",   "syn-recv", "fin-wait1", "fin-wait2",
      "time-wait", "close",       "close-wait", "last-ack", "listen",    "closing"};
  return state < std::size(names) ? names[state] : fmt::format("state-{}", state);
}

std::string socket_type_text(std::uint32_t type) {
  switch (type) {
  case SOCK_STREAM:
    return "stream";
  case SOCK_DGRAM:
    return "dgram";
  case SOCK_SEQPACKET:
    return "seqpacket";
  case SOCK_RAW:
    return "raw";
  default:
    return fmt::format("type-{}", type);
  }
}

SocketInfo inet_socket(const images::InetSkEntry& sk) {
  SocketInfo info;
  info.id = sk.id();
  const char* base = sk.proto() == IPPROTO_TCP   ? "tcp"
                     : sk.proto() == IPPROTO_UDP ? "udp"
                                                 : "inet";
  info.kind = std::string(base) + (sk.family() == AF_INET6 ? "6" : "");
  info.state = state_text(sk.state());
  info.local = address_text(sk.family(), sk.src_addr(), sk.src_port());
  if (sk.dst_port() != 0) {
    info.remote = address_text(sk.family(), sk.dst_addr(), sk.dst_port());
  }
  return info;
}

// A unix socket's name: a path, "@name" when abstract, "" when unnamed.
std::string unix_name(const images::UnixSkEntry& sk) {
  std::string name = sk.name();
  if (!name.empty() && name[0] == '\0') {
    name[0] = '@';
    std::replace(name.begin(), name.end(), '\0', '@');
    return name;
  }
  if (!name.empty() && name[0] != '/' && !sk.name_dir().empty()) {
    name = sk.name_dir() + "/" + name;
  }
  return name;
}

SocketInfo unix_socket(const images::UnixSkEntry& sk,
                       const std::map<std::uint32_t, std::string>& names_by_ino) {
  SocketInfo info;
  info.id = sk.id();
  info.kind = "unix-" + socket_type_text(sk.type());
  info.state = state_text(sk.state());
  info.local = unix_name(sk);
  if (sk.deleted()) {
    info.local += " (deleted)";
  }
  if (sk.peer() != 0) {
    auto it = names_by_ino.find(sk.peer());
    info.remote = it != names_by_ino.end() && !it->second.empty()
                      ? it->second
                      : fmt::format("socket ino {}", sk.peer());
  }
  return info;
}

std::string fd_type_text(std::uint32_t type) {
  static constexpr const char* names[] = {
      "unknown", "file",    "pipe",     "fifo",    "inet",  "unix",     "eventfd",
      "epoll",   "inotify", "signalfd", "packet",  "tty",   "fanotify", "netlink",
      "ns",      "tun",     "external", "timerfd", "memfd", "bpfmap",   "pidfd"};
  return type < std::size(names) ? names[type] : fmt::format("type-{}", type);
}

std::string mapping_kind(std::uint32_t status) {
  if (status & k_vma_vdso) {
    return "vdso";
  }
  if (status & k_vma_vvar) {
    return "vvar";
  }
  if (status & k_vma_vsyscall) {
    return "vsyscall";
  }
  if (status & k_vma_stack) {
    return "stack";
  }
  if (status & k_vma_heap) {
    return "heap";
  }
  if (status & k_vma_sysvipc) {
    return "sysv-shm";
  }
  if (status & k_vma_aioring) {
    return "aio";
  }
  if (status & k_vma_socket) {
    return "socket";
  }
  if (status & k_vma_memfd) {
    return "memfd";
  }
  if (status & k_vma_file_shared) {
    return "file-shared";
  }
  if (status & k_vma_file_private) {
    return "file";
  }
  if (status & k_vma_anon_shared) {
    return "shared";
  }
  return "anon";
}

std::string arch_text(std::uint32_t mtype) {
  static constexpr const char* names[] = {"unknown", "x86_64", "arm",
                                          "aarch64", "ppc64",  "s390"};
  return mtype < std::size(names) ? names[mtype] : fmt::format("march-{}", mtype);
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
    parsed.push_back(STASIS_TRY(parse<images::FileEntry>(bytes, name)));
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
    const auto remap = STASIS_TRY(parse<images::RemapFilePathEntry>(bytes, remaps));
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
    const auto fd = STASIS_TRY(parse<images::FdinfoEntry>(bytes, name));
    DescriptorInfo d;
    d.fd = static_cast<int>(fd.fd());
    d.file_id = fd.id();
    d.type = fd_type_text(fd.type());
    if (auto f = table.files.find(fd.id()); f != table.files.end()) {
      d.target = f->second.path;
    } else if (auto s = table.sockets.find(fd.id()); s != table.sockets.end()) {
      d.type = s->second.kind;
      d.target =
          s->second.local + (s->second.remote.empty() ? "" : " -> ") + s->second.remote;
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
    const auto entry = STASIS_TRY(parse<images::PstreeEntry>(bytes, pstree));
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
