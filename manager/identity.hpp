// User and group look-ups shared by hooks, authorization and the dump worker.
// They read the user database (NSS), so call them before fork(), never in a child.
#pragma once

#include "util/result.hpp"

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace stasis::manager {

// Who a process should run as: ids plus the supplementary group list.
struct UserIdentity {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups; // supplementary groups, primary included
};

// Looks up a user by name, with its primary and supplementary groups.
Result<UserIdentity> lookup_user(const std::string& name);

// Looks up a user by uid, with its primary and supplementary groups.
Result<UserIdentity> lookup_uid(uid_t uid);

// Returns the gid of a group name.
Result<gid_t> lookup_group(const std::string& name);

// Returns the uid of a user name, or nothing if there is no such user.
std::optional<uid_t> find_uid(const std::string& name);

// Returns the gid of a group name, or nothing if there is no such group.
std::optional<gid_t> find_gid(const std::string& name);

// Returns the name of a group id, or nothing if there is no such group.
std::optional<std::string> group_name(gid_t gid);

// Returns the groups a user belongs to (primary gid first), via getgrouplist.
std::vector<gid_t> groups_of(const std::string& user, gid_t primary);

} // namespace stasis::manager
