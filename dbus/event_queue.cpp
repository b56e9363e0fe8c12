#include "dbus/event_queue.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <sys/eventfd.h>
#include <unistd.h>

namespace stasis::dbus {

Result<std::shared_ptr<EventQueue>> EventQueue::create() {
  util::UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) {
    return make_error("cannot create the event queue's eventfd: {}",
                      std::strerror(errno));
  }
  return std::shared_ptr<EventQueue>(new EventQueue(std::move(fd)));
}

void EventQueue::push(manager::Event event) {
  {
    std::lock_guard lock(m_mutex);
    m_events.push_back(std::move(event));
  }
  const std::uint64_t one = 1;
  // A full counter (2^64-2 pending wake-ups) cannot happen; EAGAIN would still
  // leave the fd readable, so the result needs no handling.
  [[maybe_unused]] const auto written = ::write(m_fd.get(), &one, sizeof(one));
}

std::vector<manager::Event> EventQueue::take_all() {
  std::uint64_t count = 0;
  [[maybe_unused]] const auto got = ::read(m_fd.get(), &count, sizeof(count));
  std::lock_guard lock(m_mutex);
  std::vector<manager::Event> events(std::make_move_iterator(m_events.begin()),
                                     std::make_move_iterator(m_events.end()));
  m_events.clear();
  return events;
}

} // namespace stasis::dbus
