#include "dbus/subscribers.hpp"

namespace stasis::dbus {

manager::MResult<void> Subscribers::add(const std::string& name,
                                        const manager::Caller& caller) {
  if (m_by_name.contains(name)) {
    return {};
  }
  if (count_of(caller.uid) >= k_max_subscriptions_per_uid) {
    return manager::fail(manager::ErrorCode::Busy,
                         "uid {} already has {} subscribed connections; close one "
                         "(or call Unsubscribe on it) first",
                         caller.uid, k_max_subscriptions_per_uid);
  }
  if (m_by_name.size() >= k_max_subscribers) {
    return manager::fail(manager::ErrorCode::Busy,
                         "stasisd already has {} subscribed connections; try again "
                         "later",
                         k_max_subscribers);
  }
  m_by_name.emplace(name, caller);
  ++m_per_uid[caller.uid];
  return {};
}

bool Subscribers::remove(const std::string& name) {
  auto found = m_by_name.find(name);
  if (found == m_by_name.end()) {
    return false;
  }
  auto count = m_per_uid.find(found->second.uid);
  if (count != m_per_uid.end() && --count->second == 0) {
    m_per_uid.erase(count);
  }
  m_by_name.erase(found);
  return true;
}

std::size_t Subscribers::count_of(uid_t uid) const {
  auto found = m_per_uid.find(uid);
  return found == m_per_uid.end() ? 0 : found->second;
}

} // namespace stasis::dbus
