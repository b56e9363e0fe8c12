// Stream unix connections from a job's tree to listening sockets outside it
// (policy `criu.external-unix-sockets`): found before a dump, recorded with
// the images, replaced by fresh connections on restore.
//
// CRIU names such a connection by the inode of the tree's own socket: the
// dump declares it external (--external unix[INODE]) and the restore is given
// a new socket connected to the same path (--inherit-fd fd[N]:socket:[INODE]).
#pragma once

#include "engine/options.hpp"
#include "manager/identity.hpp"
#include "policy/model.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace stasis::manager {

// One stream connection of the tree to a listening socket at `path`.
struct ExternalUnixConnection {
  std::uint32_t inode = 0; // the tree's socket
  std::string path;        // the listening socket it is connected to
  bool operator==(const ExternalUnixConnection&) const = default;
};

// The stream unix connections of the process tree rooted at `root` whose peer
// is bound to one of `paths` and is not in the tree (found with sock_diag).
Result<std::vector<ExternalUnixConnection>>
find_external_unix_connections(pid_t root, const std::vector<std::string>& paths);

// The file, inside an images directory, that records the connections.
inline constexpr const char* k_external_unix_file = "stasis-external-unix";

// The most that file may hold (it is read back from a checkpoint).
inline constexpr std::size_t k_max_external_unix_file_bytes = 64 * 1024;

// Writes the connections to images_dir/k_external_unix_file ("INODE PATH"
// lines), creating the file (never through a link).
Result<void> save_external_unix(const std::filesystem::path& images_dir,
                                const std::vector<ExternalUnixConnection>& connections);

// Reads what save_external_unix wrote; no file means no connections.
Result<std::vector<ExternalUnixConnection>>
load_external_unix(const std::filesystem::path& images_dir);

// A new stream socket connected to path, as stasisd (root).
Result<util::UniqueFd> connect_unix_stream(const std::string& path);

// Before a dump: finds the tree's connections to the job's external unix
// sockets, declares them external in the dump options and records them in
// the images directory.
Result<void> declare_external_unix(pid_t root, const policy::CriuSettings& criu,
                                   const std::filesystem::path& images_dir,
                                   engine::DumpOptions& options);

// Before a restore: connects a fresh socket for every recorded connection,
// with the rights of `user` (the tree's; empty: root), and hands it to CRIU
// (inherit_fds). A recorded path the job's criu.external-unix-sockets does not
// list is refused: the record comes with the images, which a user can make.
// The returned descriptors must stay open until the restore is done.
Result<std::vector<util::UniqueFd>>
inherit_external_unix(const std::filesystem::path& images_dir,
                      const policy::CriuSettings& criu,
                      const std::optional<UserIdentity>& user,
                      engine::RestoreOptions& options);

} // namespace stasis::manager
