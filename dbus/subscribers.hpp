// The connections that called Subscribe: their unique bus names and the
// caller each subscribed as. Signals about runs and checkpoints go to these
// connections only (addressed to each, never broadcast), and the manager
// decides per subscriber and event whether it may see it.
//
// Not thread-safe: the adaptor uses it on the service loop's thread only.
#pragma once

#include "manager/api.hpp"

#include <cstddef>
#include <map>
#include <string>

namespace stasis::dbus {

// How many connections of one uid may be subscribed at once. A desktop
// session has a client or two and a few `stasisctl watch`; a uid that opens
// more connections than this gets Busy instead of making stasisd send ever
// more copies of every signal.
inline constexpr std::size_t k_max_subscriptions_per_uid = 16;

// How many connections may be subscribed at once, all uids together.
inline constexpr std::size_t k_max_subscribers = 1024;

class Subscribers {
public:
  // Subscribes a connection (its unique name, e.g. ":1.42"). Subscribing a
  // connection again changes nothing. Busy when a limit above is reached.
  manager::MResult<void> add(const std::string& name, const manager::Caller& caller);

  // Forgets a connection; false when it was not subscribed.
  bool remove(const std::string& name);

  // Every subscriber by unique name.
  const std::map<std::string, manager::Caller>& all() const { return m_by_name; }

  // How many connections of the uid are subscribed.
  std::size_t count_of(uid_t uid) const;

private:
  std::map<std::string, manager::Caller> m_by_name;
  std::map<uid_t, std::size_t> m_per_uid;
};

} // namespace stasis::dbus
