#include "manager/hook_runner.hpp"

#include "manager/hook_process.hpp"
#include "manager/identity.hpp"
#include "util/log.hpp"
#include "util/unique_fd.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace stasis::manager {
namespace {

using Clock = std::chrono::steady_clock;
using util::UniqueFd;

constexpr const char* k_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// How long to wait for the end of the output once the hook's namespace is gone
// (only a process the hook handed its pipe to can still write to it).
constexpr std::chrono::milliseconds k_drain_limit{500};

Result<std::string> find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) != 0) {
      return make_error("hook command '{}' is not executable: {}", name,
                        std::strerror(errno));
    }
    return name;
  }
  std::string_view path = k_path;
  while (!path.empty()) {
    auto colon = path.find(':');
    std::string candidate = fmt::format("{}/{}", path.substr(0, colon), name);
    if (access(candidate.c_str(), X_OK) == 0 &&
        !std::filesystem::is_directory(candidate)) {
      return candidate;
    }
    path = colon == std::string_view::npos ? "" : path.substr(colon + 1);
  }
  return make_error("hook command '{}' not found in {} (give an absolute path)", name,
                    k_path);
}

Result<UserIdentity> resolve_identity(const HookSpec& spec) {
  auto identity = lookup_user(spec.user.value_or("root"));
  if (!identity) {
    return make_error("hook user: {}", identity.error().message);
  }
  if (spec.group) {
    auto gid = lookup_group(*spec.group);
    if (!gid) {
      return make_error("hook group: {}", gid.error().message);
    }
    identity->gid = *gid;
    identity->groups = groups_of(identity->name, *gid);
  }
  return identity;
}

std::vector<std::string> build_environment(const HookSpec& spec, const HookEvent& event,
                                           const UserIdentity& identity) {
  std::map<std::string, std::string> env = {
      {"PATH", k_path},        {"HOME", identity.uid == 0 ? "/root" : "/"},
      {"USER", identity.name}, {"LOGNAME", identity.name},
      {"LANG", "C"},
  };
  for (const auto& [key, value] : spec.env) {
    env[key] = value;
  }
  env["STASIS_JOB"] = event.job;
  env["STASIS_ACTION"] = event.action;
  env["STASIS_CHECKPOINT"] = event.checkpoint;
  env["STASIS_PID"] = event.pid > 0 ? std::to_string(event.pid) : "";
  env["STASIS_IMAGES_DIR"] = event.images_dir;
  std::vector<std::string> result;
  for (const auto& [key, value] : env) {
    result.push_back(key + "=" + value);
  }
  return result;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& s : strings) {
    result.push_back(s.data());
  }
  result.push_back(nullptr);
  return result;
}

// Collects output: full lines go to the sink, the tail is kept bounded.
class OutputCollector {
public:
  OutputCollector(const HookOutputSink& sink, std::size_t limit)
      : m_sink(sink), m_limit(limit) {}

  void add(std::string_view data) {
    m_tail.append(data);
    if (m_tail.size() > m_limit) {
      m_tail.erase(0, m_tail.size() - m_limit);
    }
    m_line.append(data);
    std::size_t start = 0;
    for (auto newline = m_line.find('\n'); newline != std::string::npos;
         newline = m_line.find('\n', start)) {
      emit(std::string_view(m_line).substr(start, newline - start));
      start = newline + 1;
    }
    m_line.erase(0, start);
    if (m_line.size() > m_limit) {
      emit(m_line);
      m_line.clear();
    }
  }

  std::string finish() {
    if (!m_line.empty()) {
      emit(m_line);
    }
    return std::move(m_tail);
  }

private:
  void emit(std::string_view line) {
    if (m_sink) {
      m_sink(line);
    }
  }

  const HookOutputSink& m_sink;
  std::size_t m_limit;
  std::string m_tail;
  std::string m_line;
};

int millis_until(Clock::time_point when) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when - Clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count() + 1));
}

} // namespace

std::string HookOutcome::describe() const {
  std::string text;
  if (exit_code) {
    text = fmt::format("exited with status {}", *exit_code);
  } else if (signal) {
    text = fmt::format("killed by signal {} ({})", *signal, strsignal(*signal));
  } else {
    text = "ended in an unknown way";
  }
  if (timed_out) {
    text += fmt::format(" after timing out ({} ms)", duration.count());
  }
  return text;
}

Result<HookOutcome> run_hook(const HookSpec& spec, const HookEvent& event,
                             const HookOutputSink& sink,
                             const HookRunnerOptions& options) {
  if (spec.argv.empty() || spec.argv.front().empty()) {
    return make_error("hook has an empty command line");
  }
  auto identity = STASIS_TRY(resolve_identity(spec));
  auto path = STASIS_TRY(find_executable(spec.argv.front()));
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<std::string> env_strings = build_environment(spec, event, identity);
  auto argv = c_strings(argv_strings);
  auto envp = c_strings(env_strings);

  int output_pipe[2];
  int error_pipe[2];
  int status_pipe[2];
  if (pipe2(output_pipe, O_CLOEXEC) != 0) {
    return make_error("pipe failed: {}", std::strerror(errno));
  }
  UniqueFd output_read(output_pipe[0]);
  UniqueFd output_write(output_pipe[1]);
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    return make_error("pipe failed: {}", std::strerror(errno));
  }
  UniqueFd error_read(error_pipe[0]);
  UniqueFd error_write(error_pipe[1]);
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    return make_error("pipe failed: {}", std::strerror(errno));
  }
  UniqueFd status_read(status_pipe[0]);
  UniqueFd status_write(status_pipe[1]);
  UniqueFd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null_fd) {
    return make_error("opening /dev/null failed: {}", std::strerror(errno));
  }

  const auto started = Clock::now();
  // pid is the init of the hook's PID namespace; the hook is its child.
  const HookLaunch launch{
      path,          argv.data(),        envp.data(),       &identity,
      null_fd.get(), output_write.get(), error_write.get(), status_write.get()};
  auto spawned = spawn_hook(launch);
  if (!spawned) {
    return make_error("could not start hook '{}': {}", spec.argv.front(),
                      spawned.error().message);
  }
  const pid_t pid = *spawned;
  output_write.reset();
  error_write.reset();
  status_write.reset();
  null_fd.reset();

  std::string start_error;
  char buffer[4096];
  for (ssize_t n; (n = read(error_read.get(), buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      break;
    }
    start_error.append(buffer, static_cast<std::size_t>(n));
  }
  if (!start_error.empty()) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return make_error("could not start hook '{}': {}", spec.argv.front(), start_error);
  }

  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return make_error("pidfd_open failed: {}", std::strerror(errno));
  }

  HookOutcome outcome;
  OutputCollector collector(sink, options.output_limit);
  const auto deadline = started + spec.timeout;
  std::optional<Clock::time_point> term_sent;
  bool kill_sent = false;
  std::optional<Clock::time_point> exited_at;
  int status = 0;

  while (output_read || !exited_at) {
    Clock::time_point wake = Clock::time_point::max();
    if (exited_at) {
      wake = *exited_at + k_drain_limit;
    } else if (!term_sent) {
      wake = deadline;
    } else if (!kill_sent) {
      wake = *term_sent + options.kill_grace;
    }
    pollfd fds[2] = {{output_read.get(), POLLIN, 0},
                     {exited_at ? -1 : pidfd.get(), POLLIN, 0}};
    int timeout_ms = wake == Clock::time_point::max() ? -1 : millis_until(wake);
    int ready = poll(fds, 2, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      const int error = errno;
      if (!exited_at) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
      return make_error("poll failed: {}", std::strerror(error));
    }
    if (fds[0].revents != 0) {
      ssize_t n = read(output_read.get(), buffer, sizeof buffer);
      if (n > 0) {
        collector.add(std::string_view(buffer, static_cast<std::size_t>(n)));
      } else if (n == 0 || errno != EINTR) {
        output_read.reset();
      }
    }
    if (fds[1].revents != 0 && !exited_at) {
      // The init is gone, and with it every process of the namespace.
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      exited_at = Clock::now();
    }
    auto now = Clock::now();
    if (exited_at) {
      if (now >= *exited_at + k_drain_limit) {
        break; // a process outside the namespace got the pipe from the hook
      }
    } else if (!term_sent && now >= deadline) {
      outcome.timed_out = true;
      kill(pid, SIGTERM); // the init passes it on to the whole namespace
      term_sent = now;
    } else if (term_sent && !kill_sent && now >= *term_sent + options.kill_grace) {
      kill(pid, SIGKILL); // the init, and so the whole namespace
      kill_sent = true;
    }
  }

  // The hook's own status, when the init lived to report it; else the init's
  // (SIGKILL after the grace period).
  int hook_status = 0;
  ssize_t got = 0;
  do {
    got = read(status_read.get(), &hook_status, sizeof hook_status);
  } while (got < 0 && errno == EINTR);
  if (got == sizeof hook_status) {
    status = hook_status;
  }

  outcome.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  outcome.output_tail = collector.finish();
  if (WIFEXITED(status)) {
    outcome.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
  }
  log::get("manager")->debug("hook {} of job {} ({}) {}", spec.argv.front(), event.job,
                             event.action, outcome.describe());
  return outcome;
}

} // namespace stasis::manager
