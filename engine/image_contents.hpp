// What a checkpoint's CRIU images say about the tree they hold: processes,
// their mappings and open descriptors, files, sockets, CPU and image version.
// Read for `stasisctl inspect` and `stasisctl diff`, never for a restore.
//
// The images may come from an export file someone else wrote: every image is
// read within a size limit, every count is bounded, and a malformed image is
// an error naming it.
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace stasis::engine {

// Largest image read whole for inspection (files.img, mm-PID.img, ...).
inline constexpr std::size_t k_max_inspected_image_bytes = 64 * 1024 * 1024;
// Most processes, mappings, descriptors and files one inspection lists.
inline constexpr std::size_t k_max_inspected_items = 1 << 20;

// Reads one image file of the checkpoint by name: its bytes, nullopt when the
// checkpoint has no such file, an error when it is larger than limit.
using ImageSource =
    std::function<Result<std::optional<std::string>>(const std::string&, std::size_t)>;

// One mapping of a process (CRIU's vma_entry).
struct MappingInfo {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  std::uint64_t pgoff = 0;
  std::uint32_t prot = 0;   // PROT_* bits
  std::uint32_t flags = 0;  // MAP_* bits
  std::uint32_t status = 0; // CRIU's VMA_* bits
  // "anon", "file", "shared", "heap", "stack", "vdso", "vvar", "vsyscall", "sysv-shm",
  // ...
  std::string kind;
  std::string path; // the file of a file mapping
};

// One open descriptor of a process.
struct DescriptorInfo {
  int fd = 0;
  std::uint32_t file_id = 0;
  std::string type;   // "file", "pipe", "tcp", "unix", "eventfd", ...
  std::string target; // a path, a socket's addresses, or "" when unknown
};

// A regular file some descriptor or mapping refers to.
struct FileInfo {
  std::uint32_t id = 0;
  std::string path;
  std::uint64_t size = 0; // as dumped; 0 when not recorded
  std::uint64_t pos = 0;
  std::uint32_t flags = 0; // O_* bits
  std::uint32_t mode = 0;
  // CRIU restores it from the images (a deleted file's content, a link it
  // made at dump time, a /proc file): it need not exist at restore.
  bool remapped = false;
};

// A socket of the tree.
struct SocketInfo {
  std::uint32_t id = 0;
  std::string kind;  // "tcp", "tcp6", "udp", "udp6", "unix-stream", ...
  std::string state; // "listen", "established", ... ("" when not recorded)
  std::string local;
  std::string remote;
};

// One process of the tree.
struct ProcessInfo {
  pid_t pid = 0, ppid = 0, pgid = 0, sid = 0;
  std::vector<pid_t> threads;
  std::string comm;
  std::string state; // "alive", "zombie", "stopped"
  std::uint32_t uid = 0, gid = 0;
  std::string exe;
  std::vector<MappingInfo> mappings;       // by start address
  std::vector<DescriptorInfo> descriptors; // by fd
};

// The CPU the tree was dumped on (cpuinfo.img, x86).
struct CpuInfo {
  std::string vendor; // "Intel", "AMD", "unknown"
  std::uint32_t family = 0, model = 0, stepping = 0;
  std::string model_id;
  std::uint32_t capability_words = 0;
  std::uint64_t xfeatures_mask = 0;
};

// Everything inspection reads from a checkpoint's images.
struct ImageContents {
  std::uint32_t image_version = 0; // inventory.img
  std::string arch;                // from the core images, e.g. "x86_64"
  bool tcp_close = false;
  std::vector<ProcessInfo> processes; // in pstree order
  std::vector<FileInfo> files;        // by id
  std::vector<SocketInfo> sockets;    // by id
  std::optional<CpuInfo> cpu;         // when the dump wrote cpuinfo.img
};

// Reads the contents of a checkpoint's images through source. Images a tree
// may lack (files.img of a tree without files, cpuinfo.img, an mm image of a
// zombie) are left out; pstree.img is required.
Result<ImageContents> read_image_contents(const ImageSource& source);

} // namespace stasis::engine
