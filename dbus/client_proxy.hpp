// The generated proxy of io.stasis.Stasis1.Manager with its signals turned
// into manager events. Private to client*.cpp.
#pragma once

#include "dbus/client.hpp"
#include "dbus/generated_proxy.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace stasis::dbus {

class Client::Proxy final
    : public sdbus::ProxyInterfaces<io::stasis::Stasis1::Manager_proxy> {
public:
  Proxy(sdbus::IConnection& connection, const manager::EventSink& sink);
  ~Proxy();

  // Subscribes to stasisd's signals and from then on accepts signals only
  // from the connection that owns io.stasis.Stasis1: an addressed signal can
  // come from any peer on the bus, and the name filter of the proxy's match
  // does not stop it. When stasisd restarts, subscribes to the new one.
  void subscribe();
  void unsubscribe();

private:
  void onRunStarted(const std::string& run_id, const std::string& job,
                    const std::string& kind) override;
  void onRunProgress(const std::string& run_id, const std::string& phase,
                     const uint64_t& done, const uint64_t& total) override;
  void onRunFinished(const std::string& run_id, const std::string& job,
                     const std::string& kind, const std::string& result,
                     const std::string& checkpoint, const std::string& error) override;
  void onCheckpointsChanged(const std::string& job) override;
  void onJobsChanged() override;
  void deliver(const manager::Event& event);
  void on_owner_changed(sdbus::Message& message);

  sdbus::IConnection& m_connection;
  const manager::EventSink& m_sink;
  bool m_subscribed = false;
  std::string m_daemon; // unique name of the subscribed stasisd
  sdbus::Slot m_owner_watch;
};

} // namespace stasis::dbus
