#include "manager/identity.hpp"

#include <cerrno>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace stasis::manager {
namespace {

constexpr std::size_t k_initial_buffer = 1024;
constexpr std::size_t k_max_buffer = 1024 * 1024;

// Calls a reentrant getpw*/getgr* function, growing the buffer on ERANGE.
template <typename Entry, typename Lookup>
std::optional<Entry> reentrant_lookup(Lookup lookup, std::vector<char>& buffer) {
  buffer.resize(k_initial_buffer);
  while (true) {
    Entry entry{};
    Entry* found = nullptr;
    int rc = lookup(&entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < k_max_buffer) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc != 0 || found == nullptr) {
      return std::nullopt;
    }
    return entry;
  }
}

UserIdentity identity_from(const passwd& entry) {
  UserIdentity identity;
  identity.name = entry.pw_name;
  identity.uid = entry.pw_uid;
  identity.gid = entry.pw_gid;
  identity.groups = groups_of(identity.name, identity.gid);
  return identity;
}

} // namespace

std::vector<gid_t> groups_of(const std::string& user, gid_t primary) {
  int count = 32;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  while (getgrouplist(user.c_str(), primary, groups.data(), &count) < 0) {
    groups.resize(static_cast<std::size_t>(count));
  }
  groups.resize(static_cast<std::size_t>(count));
  return groups;
}

Result<UserIdentity> lookup_user(const std::string& name) {
  std::vector<char> buffer;
  auto entry = reentrant_lookup<passwd>(
      [&](passwd* out, char* buf, std::size_t size, passwd** found) {
        return getpwnam_r(name.c_str(), out, buf, size, found);
      },
      buffer);
  if (!entry) {
    return make_error("there is no user named '{}' (see getent passwd)", name);
  }
  return identity_from(*entry);
}

Result<UserIdentity> lookup_uid(uid_t uid) {
  std::vector<char> buffer;
  auto entry = reentrant_lookup<passwd>(
      [&](passwd* out, char* buf, std::size_t size, passwd** found) {
        return getpwuid_r(uid, out, buf, size, found);
      },
      buffer);
  if (!entry) {
    return make_error("there is no user with uid {} (see getent passwd)", uid);
  }
  return identity_from(*entry);
}

std::optional<uid_t> find_uid(const std::string& name) {
  std::vector<char> buffer;
  auto entry = reentrant_lookup<passwd>(
      [&](passwd* out, char* buf, std::size_t size, passwd** found) {
        return getpwnam_r(name.c_str(), out, buf, size, found);
      },
      buffer);
  if (!entry) {
    return std::nullopt;
  }
  return entry->pw_uid;
}

std::optional<gid_t> find_gid(const std::string& name) {
  std::vector<char> buffer;
  auto entry = reentrant_lookup<group>(
      [&](group* out, char* buf, std::size_t size, group** found) {
        return getgrnam_r(name.c_str(), out, buf, size, found);
      },
      buffer);
  if (!entry) {
    return std::nullopt;
  }
  return entry->gr_gid;
}

std::optional<std::string> group_name(gid_t gid) {
  std::vector<char> buffer;
  auto entry = reentrant_lookup<group>(
      [&](group* out, char* buf, std::size_t size, group** found) {
        return getgrgid_r(gid, out, buf, size, found);
      },
      buffer);
  if (!entry) {
    return std::nullopt;
  }
  return std::string(entry->gr_name);
}

Result<gid_t> lookup_group(const std::string& name) {
  auto gid = find_gid(name);
  if (!gid) {
    return make_error("there is no group named '{}' (see getent group)", name);
  }
  return *gid;
}

} // namespace stasis::manager
