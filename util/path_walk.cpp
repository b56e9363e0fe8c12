#include "util/path_walk.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <optional>
#include <unistd.h>
#include <vector>

#include <climits>

namespace stasis::util {
namespace {

std::string join(const std::string& directory, const std::string& name) {
  return directory == "/" ? "/" + name : directory + "/" + name;
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// Puts the entries of a path (without empty ones and ".") before the queue's.
void push_entries(std::deque<std::string>& queue, const std::string& path) {
  std::vector<std::string> entries;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) {
      end = path.size();
    }
    std::string entry = path.substr(start, end - start);
    if (!entry.empty() && entry != ".") {
      entries.push_back(std::move(entry));
    }
    start = end + 1;
  }
  queue.insert(queue.begin(), entries.begin(), entries.end());
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

class Walker {
public:
  Walker(UniqueFd directory, std::string path, const StepCheck& check)
      : m_dir(std::move(directory)), m_dir_path(std::move(path)), m_check(check) {}

  // Starts (again) at "/".
  Result<void> to_root(bool last) {
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) {
      return make_error("cannot open /: {}", std::strerror(errno));
    }
    STASIS_TRY(show(root.get(), "/", last));
    m_dir = std::move(root);
    m_dir_path = std::string(1, '/'); // (GCC 12 -Wrestrict misfires on = "/")
    return {};
  }

  Result<WalkedFile> walk(std::deque<std::string> queue, WalkTarget target,
                          const std::string& asked) {
    int symlinks = 0;
    while (!queue.empty()) {
      const std::string name = std::move(queue.front());
      queue.pop_front();
      const bool last = queue.empty();
      if (name == "..") {
        UniqueFd up(::openat(m_dir.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!up) {
          return make_error("cannot open {}/..: {}", m_dir_path, std::strerror(errno));
        }
        m_dir_path = parent_of(m_dir_path);
        STASIS_TRY(show(up.get(), m_dir_path, last));
        m_dir = std::move(up);
        m_file.reset();
        continue;
      }
      const std::string path = join(m_dir_path, name);
      UniqueFd entry(
          ::openat(m_dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!entry) {
        return make_error("cannot open {}: {}", path, std::strerror(errno));
      }
      struct stat st {};
      if (::fstat(entry.get(), &st) != 0) {
        return make_error("cannot stat {}: {}", path, std::strerror(errno));
      }
      if (S_ISLNK(st.st_mode)) {
        STASIS_TRY(m_check(PathStep{path, st, false}));
        if (++symlinks > k_max_walk_symlinks) {
          return make_error("{}: more than {} symlinks (a loop?)", asked,
                            k_max_walk_symlinks);
        }
        char buffer[PATH_MAX];
        const auto length = ::readlinkat(entry.get(), "", buffer, sizeof buffer);
        if (length <= 0 || static_cast<std::size_t>(length) >= sizeof buffer) {
          return make_error("cannot read the symlink {}", path);
        }
        const std::string link(buffer, static_cast<std::size_t>(length));
        push_entries(queue, link);
        m_file.reset();
        if (link.starts_with("/")) {
          STASIS_TRY(to_root(queue.empty()));
        }
        continue;
      }
      STASIS_TRY(m_check(PathStep{path, st, last}));
      if (S_ISDIR(st.st_mode)) {
        m_dir = std::move(entry);
        m_dir_path = path;
        m_file.reset();
      } else if (!last) {
        return make_error("{} is not a directory", path);
      } else {
        m_file = Found{name, path, st};
      }
    }
    return open_end(target);
  }

private:
  struct Found {
    std::string name;
    std::string path;
    struct stat st;
  };

  Result<void> show(int fd, const std::string& path, bool last) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      return make_error("cannot stat {}: {}", path, std::strerror(errno));
    }
    return m_check(PathStep{path, st, last});
  }

  // Opens what the walk ended at for reading: from the directory it was found
  // in, without following anything, and only if it is still the same file.
  Result<WalkedFile> open_end(WalkTarget target) {
    WalkedFile result;
    struct stat expected {};
    if (!m_file) {
      if (target == WalkTarget::RegularFile) {
        return make_error("{} is a directory, not a file", m_dir_path);
      }
      if (::fstat(m_dir.get(), &expected) != 0) {
        return make_error("cannot stat {}: {}", m_dir_path, std::strerror(errno));
      }
      result.fd.reset(::openat(m_dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      result.path = m_dir_path;
    } else {
      if (target == WalkTarget::Directory) {
        return make_error("{} is not a directory", m_file->path);
      }
      if (!S_ISREG(m_file->st.st_mode)) {
        return make_error("{} is not a regular file", m_file->path);
      }
      expected = m_file->st;
      result.fd.reset(
          ::openat(m_dir.get(), m_file->name.c_str(),
                   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
      result.path = m_file->path;
    }
    if (!result.fd) {
      return make_error("cannot open {}: {}", result.path, std::strerror(errno));
    }
    if (::fstat(result.fd.get(), &result.st) != 0) {
      return make_error("cannot stat {}: {}", result.path, std::strerror(errno));
    }
    if (!same_file(result.st, expected)) {
      return make_error("{} was replaced while it was being opened", result.path);
    }
    return result;
  }

  UniqueFd m_dir;
  std::string m_dir_path;
  const StepCheck& m_check;
  std::optional<Found> m_file;
};

} // namespace

Result<WalkedFile> walk_open(const std::filesystem::path& path, WalkTarget target,
                             const StepCheck& check) {
  std::error_code error;
  const auto absolute = std::filesystem::absolute(path, error);
  if (error) {
    return make_error("cannot make {} absolute: {}", path.string(), error.message());
  }
  std::deque<std::string> queue;
  push_entries(queue, absolute.string());
  Walker walker(UniqueFd(), "/", check);
  STASIS_TRY(walker.to_root(queue.empty()));
  return walker.walk(std::move(queue), target, path.string());
}

Result<WalkedFile> walk_open_at(const WalkedFile& directory, const std::string& name,
                                WalkTarget target, const StepCheck& check) {
  UniqueFd start(::fcntl(directory.fd.get(), F_DUPFD_CLOEXEC, 0));
  if (!start) {
    return make_error("cannot duplicate the descriptor of {}: {}", directory.path,
                      std::strerror(errno));
  }
  std::deque<std::string> queue;
  push_entries(queue, name);
  Walker walker(std::move(start), directory.path, check);
  return walker.walk(std::move(queue), target, join(directory.path, name));
}

Result<std::string> read_bounded(int fd, std::size_t max_bytes) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return make_error("cannot stat: {}", std::strerror(errno));
  }
  if (S_ISREG(st.st_mode) && static_cast<std::uintmax_t>(st.st_size) > max_bytes) {
    return make_error("it is {} bytes long, more than the {} allowed", st.st_size,
                      max_bytes);
  }
  std::string text;
  char buffer[8192];
  while (text.size() <= max_bytes) {
    const std::size_t want = std::min(sizeof buffer, max_bytes + 1 - text.size());
    const auto got = ::read(fd, buffer, want);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return make_error("cannot read: {}", std::strerror(errno));
    }
    if (got == 0) {
      return text;
    }
    text.append(buffer, static_cast<std::size_t>(got));
  }
  return make_error("it is longer than the {} bytes allowed", max_bytes);
}

} // namespace stasis::util
