// A container runtime's own checkpoint image, next to the stasis checkpoint:
// the format `podman container checkpoint --create-image` makes, so that
// `podman container restore IMAGE` works on a host without stasis. It is a
// plain OCI image of one layer (the runtime's checkpoint archive, zstd) and
// the runtime's annotations on the manifest (docs/registry-format.md).
#pragma once

#include "remote/remote.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace stasis::remote {

// The tag of the container image that goes with the checkpoint tagged `tag`
// (JOB-ORIGIN-ID or JOB-latest): TAG.podman. A stasis tag ends in "-ID" or
// "-latest", so the two never meet.
std::string container_image_tag(const std::string& tag);

// Longest checkpoint archive pushed as a container image.
inline constexpr std::uint64_t k_max_container_archive_bytes = 64ULL << 30;

// What to push: the runtime's checkpoint archive (an uncompressed tar) and
// the annotations podman reads (io.podman.annotations.checkpoint.*).
struct ContainerImage {
  std::filesystem::path archive;
  std::map<std::string, std::string> annotations;
  std::string created; // RFC 3339
};

// Pushes image under each of tags (layer, then config, then the manifests,
// in that order); the compressed layer is written to an unnamed file in
// scratch_dir. Blobs the repository has are not sent again.
Result<PushReport> push_container_image(const Reference& ref,
                                        const ClientOptions& options,
                                        const ContainerImage& image,
                                        const std::vector<std::string>& tags,
                                        const std::filesystem::path& scratch_dir);

// Deletes the container image tagged container_image_tag(tag), if there is one.
Result<void> delete_container_image(const Reference& ref, const std::string& tag,
                                    const ClientOptions& options);

} // namespace stasis::remote
