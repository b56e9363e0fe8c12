#include "manager/external_unix.hpp"

#include "manager/open_as.hpp"
#include "util/path_walk.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <map>
#include <set>
#include <sstream>
#include <sys/socket.h>
#include <sys/un.h>

#include <fmt/format.h>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;

struct UnixSocket {
  std::uint8_t type = 0;
  std::string name; // bound path; abstract names start with '@'
  std::uint32_t peer = 0;
};

// Every unix socket of our network namespace, by inode (NETLINK_SOCK_DIAG).
Result<std::map<std::uint32_t, UnixSocket>> unix_sockets() {
  util::UniqueFd sk(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!sk) {
    return make_error("cannot open a sock_diag socket: {}", std::strerror(errno));
  }
  struct {
    nlmsghdr header;
    unix_diag_req request;
  } message{};
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  message.request.sdiag_family = AF_UNIX;
  message.request.udiag_states = ~0u;
  message.request.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER;
  if (::send(sk.get(), &message, sizeof message, 0) != sizeof message) {
    return make_error("cannot query unix sockets: {}", std::strerror(errno));
  }
  std::map<std::uint32_t, UnixSocket> sockets;
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    const ssize_t got = ::recv(sk.get(), buffer.data(), buffer.size(), 0);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_error("cannot read unix sockets: {}", std::strerror(errno));
    }
    auto remaining = static_cast<unsigned int>(got);
    for (auto* header = reinterpret_cast<nlmsghdr*>(buffer.data());
         NLMSG_OK(header, remaining); header = NLMSG_NEXT(header, remaining)) {
      if (header->nlmsg_type == NLMSG_DONE) {
        return sockets;
      }
      if (header->nlmsg_type == NLMSG_ERROR) {
        return make_error("sock_diag refused the unix socket query");
      }
      const auto* diag = static_cast<const unix_diag_msg*>(NLMSG_DATA(header));
      UnixSocket socket;
      socket.type = diag->udiag_type;
      auto length = static_cast<int>(header->nlmsg_len - NLMSG_LENGTH(sizeof *diag));
      for (auto* attr = reinterpret_cast<rtattr*>(const_cast<unix_diag_msg*>(diag) + 1);
           RTA_OK(attr, length); attr = RTA_NEXT(attr, length)) {
        const auto* data = static_cast<const char*>(RTA_DATA(attr));
        const auto size = RTA_PAYLOAD(attr);
        if (attr->rta_type == UNIX_DIAG_NAME && size > 0) {
          socket.name = data[0] == '\0' ? "@" + std::string(data + 1, size - 1)
                                        : std::string(data, strnlen(data, size));
        } else if (attr->rta_type == UNIX_DIAG_PEER && size >= sizeof(std::uint32_t)) {
          std::memcpy(&socket.peer, data, sizeof socket.peer);
        }
      }
      sockets[diag->udiag_ino] = std::move(socket);
    }
  }
}

// The pids of the tree rooted at root (root first).
std::vector<pid_t> tree_of(pid_t root) {
  std::vector<pid_t> tree{root};
  for (std::size_t i = 0; i < tree.size(); ++i) {
    std::error_code ec;
    for (const auto& task :
         fs::directory_iterator(fmt::format("/proc/{}/task", tree[i]), ec)) {
      std::ifstream in(task.path() / "children");
      pid_t child = 0;
      while (in >> child) {
        tree.push_back(child);
      }
    }
  }
  return tree;
}

// The inodes of the sockets the tree's processes have open.
std::set<std::uint32_t> socket_inodes(const std::vector<pid_t>& tree) {
  std::set<std::uint32_t> inodes;
  for (const pid_t pid : tree) {
    std::error_code ec;
    for (const auto& fd : fs::directory_iterator(fmt::format("/proc/{}/fd", pid), ec)) {
      const auto target = fs::read_symlink(fd.path(), ec).string();
      unsigned long inode = 0;
      if (!ec && std::sscanf(target.c_str(), "socket:[%lu]", &inode) == 1) {
        inodes.insert(static_cast<std::uint32_t>(inode));
      }
    }
  }
  return inodes;
}

} // namespace

Result<std::vector<ExternalUnixConnection>>
find_external_unix_connections(pid_t root, const std::vector<std::string>& paths) {
  std::vector<ExternalUnixConnection> found;
  if (paths.empty()) {
    return found;
  }
  const auto sockets = STASIS_TRY(unix_sockets());
  const auto ours = socket_inodes(tree_of(root));
  for (const auto inode : ours) {
    const auto socket = sockets.find(inode);
    if (socket == sockets.end() || socket->second.type != SOCK_STREAM ||
        socket->second.peer == 0 || ours.count(socket->second.peer) > 0) {
      continue;
    }
    const auto peer = sockets.find(socket->second.peer);
    if (peer != sockets.end() &&
        std::find(paths.begin(), paths.end(), peer->second.name) != paths.end()) {
      found.push_back({inode, peer->second.name});
    }
  }
  return found;
}

Result<void> save_external_unix(const fs::path& images_dir,
                                const std::vector<ExternalUnixConnection>& connections) {
  // The images directory may belong to the target's user (her dump worker
  // writes into it): create the file anew, never through a link she put there.
  const auto path = images_dir / k_external_unix_file;
  util::UniqueFd fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) {
    return make_error("cannot create {}: {}", path.string(), std::strerror(errno));
  }
  std::string text;
  for (const auto& connection : connections) {
    text += fmt::format("{} {}\n", connection.inode, connection.path);
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t written = ::write(fd.get(), rest.data(), rest.size());
    if (written < 0 && errno == EINTR) {
      continue;
    }
    if (written <= 0) {
      return make_error("cannot write {}: {}", path.string(), std::strerror(errno));
    }
    rest.remove_prefix(static_cast<std::size_t>(written));
  }
  return ok();
}

Result<std::vector<ExternalUnixConnection>>
load_external_unix(const fs::path& images_dir) {
  const auto path = images_dir / k_external_unix_file;
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) {
      return std::vector<ExternalUnixConnection>{};
    }
    return make_error("cannot open {}: {}", path.string(), std::strerror(errno));
  }
  const std::string text =
      STASIS_TRY(util::read_bounded(fd.get(), k_max_external_unix_file_bytes));
  std::vector<ExternalUnixConnection> connections;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    ExternalUnixConnection connection;
    if (!(words >> connection.inode) ||
        !std::getline(words >> std::ws, connection.path) || connection.path.empty()) {
      return make_error("{} has a bad line: \"{}\"", path.string(), line);
    }
    connections.push_back(std::move(connection));
  }
  return connections;
}

Result<util::UniqueFd> connect_unix_stream(const std::string& path) {
  return connect_unix_as(std::nullopt, path);
}

Result<void> declare_external_unix(pid_t root, const policy::CriuSettings& criu,
                                   const fs::path& images_dir,
                                   engine::DumpOptions& options) {
  if (criu.external_unix_sockets.empty()) {
    return ok();
  }
  std::vector<std::string> paths;
  for (const auto& socket : criu.external_unix_sockets) {
    paths.push_back(socket.path);
  }
  const auto connections = STASIS_TRY(find_external_unix_connections(root, paths));
  for (const auto& connection : connections) {
    options.external.push_back(fmt::format("unix[{}]", connection.inode));
  }
  return save_external_unix(images_dir, connections);
}

Result<std::vector<util::UniqueFd>>
inherit_external_unix(const fs::path& images_dir, const policy::CriuSettings& criu,
                      const std::optional<UserIdentity>& user,
                      engine::RestoreOptions& options) {
  std::vector<util::UniqueFd> fds;
  for (const auto& connection : STASIS_TRY(load_external_unix(images_dir))) {
    // The images say where to connect, and a user can make images (her own
    // dump, an import): only the sockets root's policy lists are connected.
    const bool listed =
        std::any_of(criu.external_unix_sockets.begin(), criu.external_unix_sockets.end(),
                    [&](const auto& socket) { return socket.path == connection.path; });
    if (!listed) {
      return make_error("the checkpoint asks for a connection to the unix socket {}, "
                        "which the job's criu.external-unix-sockets does not list; "
                        "stasisd connects only to the sockets the policy lists",
                        connection.path);
    }
    auto fd = STASIS_TRY(connect_unix_as(user, connection.path));
    options.inherit_fds.push_back(
        {fmt::format("socket:[{}]", connection.inode), fd.get()});
    fds.push_back(std::move(fd));
  }
  return fds;
}

} // namespace stasis::manager
