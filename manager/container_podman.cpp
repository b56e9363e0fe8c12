// podman containers: `podman container checkpoint --export <tar> --compress
// none`, whose CRIU images go into the images directory (so the store
// deduplicates them file by file) next to one archive of podman's own files,
// and `podman container restore --import <tar>` of the export archive built
// again from the materialized images. podman runs runc,
// which runs `criu` from PATH: the run's bin directory with a `criu` link to
// stasis's CRIU comes first. podman does not pass CRIU_CONFIG_FILE on, so only
// podman's own flags are available. Without systemd, podman is told to use
// cgroupfs.
#include "manager/container_support.hpp"
#include "util/log.hpp"
#include "util/small_file.hpp"

#include <sys/utsname.h>

#include <nlohmann/json.hpp>

namespace stasis::manager {
namespace {

namespace fs = std::filesystem;

// podman's export archive holds CRIU's images in checkpoint/ and podman's own
// files (config.dump, spec.dump, rootfs-diff.tar, ...) around them. The store
// keeps a flat images directory: the CRIU images at the top, podman's files
// packed into this one archive next to them.
constexpr const char* k_podman_files = "podman-files.tar";

// Largest config.dump (podman's container configuration) read.
constexpr std::uintmax_t k_max_config_dump_bytes = 16 << 20;

// The annotations `podman container checkpoint --create-image` puts on its
// images, from the checkpoint's config.dump; podman's restore needs the name
// and the runtime's name.
Result<std::map<std::string, std::string>> image_annotations(const std::string& text) {
  auto config = nlohmann::json::parse(text, nullptr, false);
  if (config.is_discarded() || !config.is_object()) {
    return make_error("podman's config.dump in the checkpoint is not JSON");
  }
  auto field = [&](const char* key) {
    auto it = config.find(key);
    return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string name = field("name");
  if (name.empty()) {
    return make_error("podman's config.dump in the checkpoint names no container");
  }
  constexpr std::string_view prefix = "io.podman.annotations.checkpoint.";
  std::map<std::string, std::string> out;
  auto put = [&](std::string_view key, std::string value) {
    if (!value.empty()) {
      out.emplace(std::string(prefix) + std::string(key), std::move(value));
    }
  };
  put("name", name);
  put("runtime.name", field("runtime").empty() ? "runc" : field("runtime"));
  put("rootfsImageID", field("rootfsImageID"));
  put("rootfsImageName", field("rootfsImageName"));
  put("rawImageName", field("RawImageName"));
  struct utsname host {};
  if (::uname(&host) == 0) {
    put("host.kernel", host.release);
  }
  return out;
}

Result<void> tar(std::vector<std::string> args, const ContainerRun& run,
                 std::string_view what) {
  args.insert(args.begin(), "tar");
  auto result = STASIS_TRY(run_runtime_tool(args, {}, run));
  if (!result.succeeded()) {
    return make_error("{} failed: tar {}", what, result.describe());
  }
  return {};
}

// Unpacks podman's export archive into run.images (see k_podman_files).
Result<void> split_export(const fs::path& archive, const fs::path& unpacked,
                          const ContainerRun& run) {
  std::error_code error;
  fs::create_directories(unpacked, error);
  auto done = tar({"-x", "-f", archive.string(), "-C", unpacked.string()}, run,
                  "unpacking podman's checkpoint archive");
  fs::remove(archive, error);
  if (done) {
    const fs::path criu_images = unpacked / "checkpoint";
    for (fs::directory_iterator it(criu_images, error), end; !error && it != end;
         it.increment(error)) {
      fs::rename(it->path(), run.images / it->path().filename(), error);
      if (error) {
        break;
      }
    }
    if (error) {
      done = make_error("cannot move podman's CRIU images from {}: {}",
                        criu_images.string(), error.message());
    } else {
      fs::remove_all(criu_images, error);
      done = tar({"-c", "-f", (run.images / k_podman_files).string(), "-C",
                  unpacked.string(), "."},
                 run, "packing podman's checkpoint files");
    }
  }
  fs::remove_all(unpacked, error);
  return done;
}

// Rebuilds podman's export archive from run.images (see k_podman_files);
// with config_dump, also reads podman's config.dump (bounded) into it.
Result<void> join_export(const fs::path& staging, const fs::path& archive,
                         const ContainerRun& run, std::string* config_dump = nullptr) {
  std::error_code error;
  const fs::path criu_images = staging / "checkpoint";
  fs::create_directories(criu_images, error);
  auto done =
      tar({"-x", "-f", (run.images / k_podman_files).string(), "-C", staging.string()},
          run, "unpacking podman's checkpoint files");
  if (done) {
    for (fs::directory_iterator it(run.images, error), end; !error && it != end;
         it.increment(error)) {
      if (it->path().filename() != k_podman_files) {
        fs::create_hard_link(it->path(), criu_images / it->path().filename(), error);
        if (error) {
          break;
        }
      }
    }
    if (error) {
      done = make_error("cannot stage the CRIU images for podman in {}: {}",
                        criu_images.string(), error.message());
    } else if (config_dump != nullptr) {
      auto text = util::read_small_file(staging / "config.dump", k_max_config_dump_bytes,
                                        "podman's config.dump");
      if (!text) {
        done = Unexpected(std::move(text).error());
      } else {
        *config_dump = std::move(*text);
      }
    }
    if (done && !error) {
      done = tar({"-c", "-f", archive.string(), "-C", staging.string(), "."}, run,
                 "packing the checkpoint for podman");
    }
  }
  fs::remove_all(staging, error);
  return done;
}

class PodmanRuntime final : public ContainerRuntime {
public:
  explicit PodmanRuntime(policy::PodmanTarget target) : m_target(std::move(target)) {}

  Result<void> check(const policy::Job& job) const override {
    STASIS_TRY(refuse_unsupported_keys(
        job, "podman", {"criu.tcp-established", "criu.file-locks", "criu.network-lock"}));
    if (job.criu.network_lock == policy::NetworkLock::Skip) {
      return make_error("job '{}': criu.network-lock skip cannot be used with a podman "
                        "container (runc's CRIU configuration decides the lock)",
                        job.name);
    }
    return {};
  }

  Result<pid_t> init_pid() const override {
    auto argv = base();
    argv.insert(argv.end(), {"container", "inspect", "--format", "{{.State.Pid}}",
                             m_target.container});
    auto result = STASIS_TRY(query_runtime_tool(argv));
    if (!result.succeeded()) {
      return make_error("{}: podman container inspect {}", describe(), result.describe());
    }
    return parse_runtime_pid(result.output,
                             fmt::format("podman inspect of {}", describe()));
  }

  Result<void> checkpoint(const policy::Job& job, const ContainerRun& run,
                          bool leave_running) const override {
    STASIS_TRY(check(job));
    auto env = STASIS_TRY(criu_environment(job, run, false));
    const fs::path scratch = run.images.parent_path();
    const fs::path archive = scratch / "podman-export.tar";
    auto argv = base();
    argv.insert(argv.end(), {"container", "checkpoint", "--export", archive.string(),
                             "--compress", "none"});
    if (leave_running) {
      argv.emplace_back("--leave-running");
    }
    add_shared_flags(job, argv);
    argv.push_back(m_target.container);
    auto result = STASIS_TRY(run_runtime_tool(argv, env, run));
    if (!result.succeeded()) {
      return make_error(
          "{}",
          runtime_failure(fmt::format("podman container checkpoint of {}", describe()),
                          result, {}));
    }
    return split_export(archive, scratch / "podman-export", run);
  }

  Result<pid_t> restore(const policy::Job& job, const ContainerRun& run) const override {
    STASIS_TRY(check(job));
    auto exists_argv = base();
    exists_argv.insert(exists_argv.end(), {"container", "exists", m_target.container});
    auto exists = STASIS_TRY(query_runtime_tool(exists_argv));
    if (exists.succeeded()) {
      STASIS_TRY(replace_dead(job));
    }
    auto env = STASIS_TRY(criu_environment(job, run, true));
    const fs::path scratch = run.images.parent_path();
    const fs::path archive = scratch / "podman-import.tar";
    STASIS_TRY(join_export(scratch / "podman-import", archive, run));
    auto argv = base();
    argv.insert(argv.end(), {"container", "restore", "--import", archive.string()});
    add_shared_flags(job, argv);
    auto result = STASIS_TRY(run_runtime_tool(argv, env, run));
    std::error_code ignored;
    fs::remove(archive, ignored);
    if (!result.succeeded()) {
      return make_error(
          "{}", runtime_failure(fmt::format("podman container restore of {}", describe()),
                                result, {}));
    }
    return init_pid();
  }

  Result<std::optional<std::map<std::string, std::string>>>
  image_archive(const ContainerRun& run, const fs::path& archive) const override {
    std::string config_dump;
    STASIS_TRY(join_export(run.work / "podman-image", archive, run, &config_dump));
    return std::optional<std::map<std::string, std::string>>{
        STASIS_TRY(image_annotations(config_dump))};
  }

private:
  std::string describe() const { return policy::describe(policy::Target{m_target}); }

  // The container of the name exists: a dead one is removed when the job says
  // restore.replace-dead-container; a running (or paused) one never is.
  Result<void> replace_dead(const policy::Job& job) const {
    auto argv = base();
    argv.insert(argv.end(), {"container", "inspect", "--format", "{{.State.Status}}",
                             m_target.container});
    auto inspected = STASIS_TRY(query_runtime_tool(argv));
    std::string status = inspected.succeeded() ? inspected.output : "unknown";
    status.erase(status.find_last_not_of(" \n") + 1);
    const bool dead = status == "exited" || status == "stopped" || status == "created" ||
                      status == "dead" || status == "configured";
    if (!dead) {
      return make_error("{} exists and is {}: a restore never replaces a container that "
                        "runs",
                        describe(), status);
    }
    if (!job.restore.replace_dead_container) {
      return make_error("{} still exists ({}); remove it (podman rm -f {}) or set "
                        "restore.replace-dead-container: true in the policy of job '{}'",
                        describe(), status, m_target.container, job.name);
    }
    auto remove = base();
    remove.insert(remove.end(), {"container", "rm", m_target.container});
    auto removed = STASIS_TRY(query_runtime_tool(remove));
    if (!removed.succeeded()) {
      return make_error("{}: podman rm of the dead container {}", describe(),
                        removed.describe());
    }
    log::get("manager")->info("replaced the dead {}: podman rm {}", describe(),
                              m_target.container);
    return {};
  }

  static std::vector<std::string> base() {
    std::vector<std::string> argv{"podman"};
    std::error_code ignored;
    if (!fs::exists("/run/systemd/system", ignored)) {
      argv.insert(argv.end(), {"--cgroup-manager", "cgroupfs"});
    }
    return argv;
  }

  static void add_shared_flags(const policy::Job& job, std::vector<std::string>& argv) {
    if (job.criu.tcp_established) {
      argv.emplace_back("--tcp-established");
    }
    if (job.criu.file_locks) {
      argv.emplace_back("--file-locks");
    }
  }

  policy::PodmanTarget m_target;
};

} // namespace

std::unique_ptr<ContainerRuntime>
make_podman_runtime(const policy::PodmanTarget& target) {
  return std::make_unique<PodmanRuntime>(target);
}

} // namespace stasis::manager
