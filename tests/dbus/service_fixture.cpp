#include "tests/dbus/service_fixture.hpp"

#include "dbus/names.hpp"

#include <stdexcept>

namespace stasis::test {

ServiceFixture::ServiceFixture() {
  m_server_connection = sdbus::createSessionBusConnectionWithAddress(m_bus.address());
  m_server_connection->requestName(dbus::k_bus_name);
  auto adaptor = dbus::ManagerAdaptor::create(*m_server_connection, m_manager);
  if (!adaptor) {
    throw std::runtime_error(adaptor.error().message);
  }
  m_adaptor = std::move(adaptor).value();
  auto loop = dbus::ServiceLoop::create(*m_server_connection);
  if (!loop) {
    throw std::runtime_error(loop.error().message);
  }
  m_loop = std::move(loop).value();
  m_loop->watch(m_adaptor->event_fd(), [this] { m_adaptor->emit_pending(); });
  m_loop_thread = std::thread([this] {
    auto result = m_loop->run();
    if (!result) {
      ADD_FAILURE() << "service loop: " << result.error().message;
    }
  });

  auto client = dbus::Client::connect(m_bus.address());
  if (!client) {
    throw std::runtime_error(client.error().message);
  }
  m_client = std::move(client).value();
  m_raw_connection = sdbus::createSessionBusConnectionWithAddress(m_bus.address());
  m_raw = sdbus::createProxy(*m_raw_connection, dbus::k_bus_name, dbus::k_object_path);
}

ServiceFixture::~ServiceFixture() {
  m_raw.reset();
  m_raw_connection.reset();
  m_client.reset();
  m_loop->stop();
  m_loop_thread.join();
  m_adaptor.reset();
  m_server_connection.reset();
}

} // namespace stasis::test
