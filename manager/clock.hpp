// The time source of the manager: real in the daemon, fake in unit tests.
#pragma once

#include "manager/api.hpp"

namespace stasis::manager {

// Tells the wall-clock time (schedules are in wall-clock terms).
class Clock {
public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// std::chrono::system_clock.
class SystemClock final : public Clock {
public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

} // namespace stasis::manager
