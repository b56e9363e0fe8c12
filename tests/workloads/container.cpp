// stasis-wl-container [--keep-netns NAME] ARGS...: a container-like tree, as
// `unshare --pid --mount --uts --ipc --net --fork --mount-proc setsid
// stasis-wl-counter` makes it. The launcher unshares the namespaces and forks
// the init, which makes its mounts private, unmounts the bind mounts of named
// network namespaces (/run/netns/*) except NAME (so that namespaces other
// programs add meanwhile do not end up in the tree), mounts a fresh /proc,
// reopens stdio on /dev/null (no
// descriptors of the host's mount namespace), becomes a session leader and
// execs stasis-wl-counter (next to this binary) with ARGS. The launcher writes
// the init's host pid to ./init.pid, waits for it and exits with its status.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace {

int fail(const char* what) {
  std::fprintf(stderr, "stasis-wl-container: %s: %s\n", what, std::strerror(errno));
  return 2;
}

// Unmounts the nsfs mounts below /run/netns/ except /run/netns/<keep>.
void drop_foreign_netns_mounts(const std::string& keep) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::vector<std::string> drop;
  for (std::string line; std::getline(mountinfo, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    const auto dash = line.find(" - ");
    const bool nsfs =
        dash != std::string::npos && line.compare(dash + 3, 5, "nsfs ") == 0;
    if (nsfs && point.rfind("/run/netns/", 0) == 0 && point != "/run/netns/" + keep) {
      drop.push_back(point);
    }
  }
  for (const auto& point : drop) {
    ::umount2(point.c_str(), MNT_DETACH);
  }
}

[[noreturn]] void run_init(char** argv, const std::string& keep_netns) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    ::_exit(fail("mount --make-rprivate /"));
  }
  drop_foreign_netns_mounts(keep_netns);
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    ::_exit(fail("mount proc"));
  }
  const int null_fd = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd) {
    ::dup2(null_fd, fd);
  }
  ::close_range(3, ~0U, 0);
  ::setsid();
  char self[4096] = {};
  if (::readlink("/proc/self/exe", self, sizeof self - 1) <= 0) {
    ::_exit(2);
  }
  std::string counter = self;
  counter = counter.substr(0, counter.rfind('/') + 1) + "stasis-wl-counter";
  std::vector<char*> args{counter.data()};
  for (char** arg = argv + 1; *arg != nullptr; ++arg) {
    args.push_back(*arg);
  }
  args.push_back(nullptr);
  ::execv(counter.c_str(), args.data());
  ::_exit(127);
}

} // namespace

int main(int argc, char** argv) {
  std::string keep_netns;
  if (argc > 2 && std::string(argv[1]) == "--keep-netns") {
    keep_netns = argv[2];
    argv[2] = argv[0];
    argv += 2;
  }
  if (::unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                CLONE_NEWNET) != 0) {
    return fail("unshare");
  }
  const pid_t init = ::fork();
  if (init < 0) {
    return fail("fork");
  }
  if (init == 0) {
    run_init(argv, keep_netns);
  }
  if (FILE* out = std::fopen("init.pid.tmp", "w")) {
    std::fprintf(out, "%d\n", init);
    std::fclose(out);
    std::rename("init.pid.tmp", "init.pid");
  }
  int status = 0;
  while (::waitpid(init, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
