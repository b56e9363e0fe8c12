// The container image a podman job's push adds next to the stasis
// checkpoint: the checkpoint materialized, packed again as podman's own
// archive, pushed as podman's checkpoint image (remote/container_image.hpp).
#include "manager/container_runtime.hpp"
#include "manager/manager.hpp"
#include "remote/container_image.hpp"
#include "util/log.hpp"

#include <ctime>

namespace stasis::manager {

namespace fs = std::filesystem;

namespace {

std::string rfc3339(std::chrono::sys_seconds t) {
  const std::time_t time = t.time_since_epoch().count();
  std::tm tm{};
  ::gmtime_r(&time, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

} // namespace

bool pushes_container_image(const policy::Job& job) {
  return std::holds_alternative<policy::PodmanTarget>(job.target) &&
         job.replicate.podman_image.value_or(true);
}

Result<remote::PushReport>
Manager::push_container_image(RunContext& context, const policy::Job& job,
                              std::uint64_t id, const remote::Reference& ref,
                              const remote::ClientOptions& client,
                              const std::vector<std::string>& checkpoint_tags) {
  auto runtime = make_container_runtime(job.target);
  if (!runtime) {
    return make_error("{} is not a container", policy::describe(job.target));
  }
  const auto summary = STASIS_TRY(m_store.summary(job.name, id));
  const fs::path work = STASIS_TRY(make_work_dir(context.run_id()));
  struct RemoveWork {
    fs::path dir;
    ~RemoveWork() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } remove_work{work};
  const fs::path images = work / "images";
  STASIS_TRY(m_store.materialize(job.name, id, images));
  const engine::RunControl control{job.criu.timeout, context.stop_token()};
  remote::ContainerImage image;
  image.archive = work / "podman-checkpoint.tar";
  auto annotations = STASIS_TRY(
      runtime->image_archive(ContainerRun{m_criu, images, work, control}, image.archive));
  if (!annotations) {
    return make_error("{} has no checkpoint image format", policy::describe(job.target));
  }
  image.annotations = std::move(*annotations);
  image.annotations.emplace("io.stasis.job", job.name);
  image.annotations.emplace("io.stasis.id", std::to_string(id));
  image.created = rfc3339(summary.created);
  image.annotations.emplace("org.opencontainers.image.created", image.created);
  // The materialized images are in the archive now.
  std::error_code ignored;
  fs::remove_all(images, ignored);
  std::vector<std::string> tags;
  for (const auto& tag : checkpoint_tags) {
    tags.push_back(remote::container_image_tag(tag));
  }
  return remote::push_container_image(ref, client, image, tags, work);
}

} // namespace stasis::manager
