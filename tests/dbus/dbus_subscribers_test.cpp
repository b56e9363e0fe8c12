// The list of subscribed connections: one entry per connection, per-uid and
// overall limits.
#include "dbus/subscribers.hpp"

#include <string>

#include <gtest/gtest.h>

namespace stasis::dbus {
namespace {

manager::Caller uid(uid_t value) {
  return manager::Caller{value, value, 1};
}

TEST(ASubscriberList, CountsAConnectionOnceAndForgetsItWhenRemoved) {
  Subscribers subscribers;
  ASSERT_TRUE(subscribers.add(":1.7", uid(1000)));
  ASSERT_TRUE(subscribers.add(":1.7", uid(1000)));
  EXPECT_EQ(subscribers.count_of(1000), 1u);
  EXPECT_EQ(subscribers.all().size(), 1u);
  EXPECT_TRUE(subscribers.remove(":1.7"));
  EXPECT_FALSE(subscribers.remove(":1.7"));
  EXPECT_EQ(subscribers.count_of(1000), 0u);
  EXPECT_TRUE(subscribers.all().empty());
}

TEST(ASubscriberList, RefusesAUidItsConnectionBeyondTheLimit) {
  Subscribers subscribers;
  for (std::size_t i = 0; i < k_max_subscriptions_per_uid; ++i) {
    ASSERT_TRUE(subscribers.add(":1." + std::to_string(i), uid(1000)));
  }
  auto refused = subscribers.add(":2.0", uid(1000));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, manager::ErrorCode::Busy);
  EXPECT_TRUE(subscribers.add(":2.0", uid(1001))) << "other uids are not affected";
  ASSERT_TRUE(subscribers.remove(":1.0"));
  EXPECT_TRUE(subscribers.add(":2.1", uid(1000)));
}

TEST(ASubscriberList, RefusesAnyConnectionBeyondTheOverallLimit) {
  Subscribers subscribers;
  for (std::size_t i = 0; i < k_max_subscribers; ++i) {
    const auto owner = static_cast<uid_t>(2000 + i / k_max_subscriptions_per_uid);
    ASSERT_TRUE(subscribers.add(":1." + std::to_string(i), uid(owner)));
  }
  auto refused = subscribers.add(":2.0", uid(9999));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, manager::ErrorCode::Busy);
  EXPECT_NE(refused.error().message.find("1024"), std::string::npos)
      << refused.error().message;
}

} // namespace
} // namespace stasis::dbus
