// A thread-safe hand-over of manager events to the D-Bus loop thread.
//
// sd-bus connections are not meant to be driven from several threads, and the
// manager announces events from its worker threads. So events are never
// emitted where they happen: push() (any thread) appends to a queue under a
// mutex and bumps an eventfd; the service loop polls that eventfd and the
// loop thread takes the events and emits the signals. Signals thus leave in
// the order the manager announced them, and always after the reply of the
// method call that caused them.
#pragma once

#include "manager/api.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace stasis::dbus {

class EventQueue {
public:
  // Creates a queue with its eventfd.
  static Result<std::shared_ptr<EventQueue>> create();

  // Appends an event and wakes the loop; safe from any thread.
  void push(manager::Event event);

  // The descriptor that becomes readable while events are waiting.
  int fd() const { return m_fd.get(); }

  // Takes every waiting event (oldest first) and clears the wake-up.
  std::vector<manager::Event> take_all();

private:
  explicit EventQueue(util::UniqueFd fd) : m_fd(std::move(fd)) {}

  util::UniqueFd m_fd;
  std::mutex m_mutex;
  std::deque<manager::Event> m_events;
};

} // namespace stasis::dbus
