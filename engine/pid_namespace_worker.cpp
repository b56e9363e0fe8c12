#include "engine/pid_namespace_worker.hpp"

#include "engine/criu_rpc.pb.h"
#include "engine/swrk_transport.hpp"
#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <fmt/format.h>

namespace stasis::engine {
namespace {

namespace fs = std::filesystem;

// Closes every descriptor from 3 up except `keep`.
void close_all_but(int keep) {
  if (keep > 3) {
    ::close_range(3, static_cast<unsigned>(keep - 1), 0);
  }
  ::close_range(static_cast<unsigned>(keep + 1), UINT_MAX, 0);
}

// The namespace's init: reports the worker's exit code on `status_fd`, then
// reaps whatever the namespace holds until it is empty.
[[noreturn]] void run_init(pid_t worker, int status_fd) {
  ::setsid();
  ::prctl(PR_SET_NAME, "stasis-pidns", 0, 0, 0); // not another "stasisd" in ps
  close_all_but(status_fd);
  // It outlives the request: hold none of the daemon's stdio (journal streams).
  if (const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC); null_fd >= 0) {
    for (int fd = 0; fd < 3; ++fd) {
      ::dup2(null_fd, fd);
    }
    if (null_fd > 2) {
      ::close(null_fd);
    }
  }
  for (;;) {
    int status = 0;
    const pid_t got = ::waitpid(-1, &status, 0);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      ::_exit(0); // ECHILD: the namespace is empty
    }
    if (got == worker && status_fd >= 0) {
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      [[maybe_unused]] auto written = ::write(status_fd, &code, sizeof(code));
      ::close(status_fd);
      status_fd = -1;
    }
  }
}

// Runs in the forked worker process before its exec (async-signal-safe calls
// only). It unshares the namespaces and forks the init; the init forks the
// real worker, which returns 0 here and execs `criu swrk`. The forked process
// itself never execs: it writes the init's host pid to `info_fd`, waits for
// the worker's exit code and exits with it, so that the transport's reaping
// and killing of "the worker" keep working.
int enter_new_pid_namespace(int info_fd) {
  if (::unshare(CLONE_NEWPID | CLONE_NEWNS) != 0) {
    return errno;
  }
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    return errno;
  }
  const pid_t init = ::_Fork();
  if (init < 0) {
    return errno;
  }
  if (init > 0) {
    [[maybe_unused]] auto written = ::write(info_fd, &init, sizeof(init));
    ::close(status_pipe[1]);
    close_all_but(status_pipe[0]);
    int code = 127;
    ssize_t got;
    do {
      got = ::read(status_pipe[0], &code, sizeof(code));
    } while (got < 0 && errno == EINTR);
    ::_exit(got == sizeof(code) ? code : 127);
  }
  ::close(status_pipe[0]);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    return errno;
  }
  const pid_t worker = ::_Fork();
  if (worker < 0) {
    return errno;
  }
  if (worker == 0) {
    ::close(status_pipe[1]);
    return 0;
  }
  run_init(worker, status_pipe[1]);
}

// The CRIU configuration file a worker in a new PID namespace reads.
constexpr const char* k_config_name = "criu-pid-namespace.conf";

// The text of a configuration file the request already names (ours, small).
Result<std::string> read_config(const std::string& path) {
  constexpr std::size_t k_max = 64 * 1024;
  util::UniqueFd file(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!file) {
    return make_error("cannot read the CRIU configuration file {}: {}", path,
                      std::strerror(errno));
  }
  std::string text(k_max, '\0');
  const ssize_t got = ::read(file.get(), text.data(), text.size());
  if (got < 0 || static_cast<std::size_t>(got) == k_max) {
    return make_error("cannot read the CRIU configuration file {}", path);
  }
  text.resize(static_cast<std::size_t>(got));
  return text;
}

// A swrk transport whose requests name their directories by path (see the
// header).
class PidNamespaceTransport final : public CriuTransport {
public:
  explicit PidNamespaceTransport(std::unique_ptr<SwrkTransport> inner)
      : m_inner(std::move(inner)) {}

  Result<void, TransportError> send(std::string_view bytes) override {
    wire::Request request;
    if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
        !request.has_opts() || request.opts().images_dir_fd() < 0) {
      return m_inner->send(bytes);
    }
    auto* opts = request.mutable_opts();
    const int images_fd = opts->images_dir_fd();
    const int work_fd = opts->has_work_dir_fd() ? opts->work_dir_fd() : images_fd;
    // Written through the work dir's descriptor, never following a link.
    std::string text = fmt::format("images-dir /proc/self/fd/{}\nwork-dir "
                                   "/proc/self/fd/{}\n",
                                   images_fd, work_fd);
    if (opts->has_config_file()) {
      // The request's own configuration (options without an RPC field)
      // stays: its lines follow the directories.
      auto earlier = read_config(opts->config_file());
      if (!earlier) {
        return Unexpected(TransportError{TransportError::Kind::System,
                                         std::move(earlier).error().message});
      }
      text += *earlier;
    }
    util::UniqueFd config(::openat(work_fd, k_config_name,
                                   O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                                   0644));
    if (!config || ::write(config.get(), text.data(), text.size()) !=
                       static_cast<ssize_t>(text.size())) {
      return Unexpected(TransportError{
          TransportError::Kind::System,
          fmt::format("cannot write the CRIU configuration of a restore in a new PID "
                      "namespace: {}",
                      std::strerror(errno))});
    }
    opts->set_config_file(fmt::format("/proc/self/fd/{}/{}", work_fd, k_config_name));
    return m_inner->send(request.SerializeAsString());
  }
  Result<WireMessage, TransportError> receive(Deadline deadline,
                                              const std::stop_token& stop) override {
    return m_inner->receive(deadline, stop);
  }
  void kill_worker() override { m_inner->kill_worker(); }
  pid_t worker_pid() const override { return m_inner->worker_pid(); }

private:
  std::unique_ptr<SwrkTransport> m_inner;
};

} // namespace

TransportFactory pid_namespace_workers(fs::path criu, std::shared_ptr<pid_t> init_pid,
                                       ChildSetup then) {
  return [criu = std::move(criu), init_pid = std::move(init_pid), then = std::move(then)](
             const WorkerSpec& spec) -> Result<std::unique_ptr<CriuTransport>> {
    int info[2];
    if (::pipe2(info, O_CLOEXEC | O_NONBLOCK) != 0) {
      return make_error("cannot create a pipe for a CRIU worker: {}",
                        std::strerror(errno));
    }
    util::UniqueFd info_read(info[0]);
    util::UniqueFd info_write(info[1]);
    const int fd = info_write.get();
    auto transport = SwrkTransport::spawn(criu, spec, [fd, &then] {
      const int entered = enter_new_pid_namespace(fd);
      return entered != 0 || !then ? entered : then();
    });
    if (!transport) {
      return make_error("starting a CRIU worker in a new PID namespace: {}",
                        transport.error().message);
    }
    pid_t init = 0;
    if (::read(info_read.get(), &init, sizeof(init)) == sizeof(init)) {
      *init_pid = init;
    }
    return std::unique_ptr<CriuTransport>(
        std::make_unique<PidNamespaceTransport>(std::move(*transport)));
  };
}

} // namespace stasis::engine
