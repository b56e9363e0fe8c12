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

  const manager::EventSink& m_sink;
};

} // namespace stasis::dbus
