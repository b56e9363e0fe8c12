#include "manager/unprivileged_worker.hpp"

#include "engine/swrk_transport.hpp"

#include <cerrno>

namespace stasis::manager {

engine::TransportFactory unprivileged_workers(std::filesystem::path criu,
                                              UserIdentity identity,
                                              WorkerCapabilities caps) {
  return [criu = std::move(criu), identity = std::move(identity),
          caps = std::move(caps)](const engine::WorkerSpec& spec)
             -> Result<std::unique_ptr<engine::CriuTransport>> {
    auto transport = engine::SwrkTransport::spawn(criu, spec, [&identity, &caps] {
      errno = 0;
      auto dropped = drop_to_user_keep_caps(identity, caps);
      return dropped ? 0 : (errno != 0 ? errno : EPERM);
    });
    if (!transport) {
      return make_error("starting a CRIU worker as uid {}: {}", identity.uid,
                        transport.error().message);
    }
    return std::unique_ptr<engine::CriuTransport>(std::move(*transport));
  };
}

UserIdentity identity_of(uid_t uid, gid_t gid) {
  if (auto found = lookup_uid(uid)) {
    return *found;
  }
  return UserIdentity{std::to_string(uid), uid, gid, {gid}};
}

} // namespace stasis::manager
