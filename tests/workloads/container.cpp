// stasis-wl-container ARGS...: a container-like tree, as `unshare --pid
// --mount --uts --ipc --net --fork --mount-proc setsid stasis-wl-counter` makes
// it. The launcher unshares the namespaces and forks the init, which makes its
// mounts private, mounts a fresh /proc, reopens stdio on /dev/null (no
// descriptors of the host's mount namespace), becomes a session leader and
// execs stasis-wl-counter (next to this binary) with ARGS. The launcher writes
// the init's host pid to ./init.pid, waits for it and exits with its status.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
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

[[noreturn]] void run_init(char** argv) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    ::_exit(fail("mount"));
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

int main(int, char** argv) {
  if (::unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) !=
      0) {
    return fail("unshare");
  }
  const pid_t init = ::fork();
  if (init < 0) {
    return fail("fork");
  }
  if (init == 0) {
    run_init(argv);
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
