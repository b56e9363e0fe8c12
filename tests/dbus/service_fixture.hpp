// The dbus tier's fixture: a private dbus-daemon, the real ManagerAdaptor on
// its own connection (served by the real ServiceLoop on a thread) over a
// FakeManager, and a second connection for the client side: the stasisctl
// Client plus a raw sdbus proxy for calls the Client would never make.
#pragma once

#include "dbus/client.hpp"
#include "dbus/manager_adaptor.hpp"
#include "dbus/service_loop.hpp"
#include "tests/dbus/fake_manager.hpp"
#include "tests/dbus/private_bus.hpp"

#include <memory>
#include <thread>

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

namespace stasis::test {

class ServiceFixture : public ::testing::Test {
protected:
  ServiceFixture();
  ~ServiceFixture() override;

  PrivateBus m_bus;
  FakeManager m_manager;
  std::unique_ptr<dbus::Client> m_client;
  std::unique_ptr<sdbus::IConnection> m_raw_connection;
  std::unique_ptr<sdbus::IProxy> m_raw;

private:
  std::unique_ptr<sdbus::IConnection> m_server_connection;
  std::unique_ptr<dbus::ManagerAdaptor> m_adaptor;
  std::unique_ptr<dbus::ServiceLoop> m_loop;
  std::thread m_loop_thread;
};

} // namespace stasis::test
