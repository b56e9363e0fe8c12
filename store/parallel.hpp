// A minimal parallel loop for the store's hashing and compression.
#pragma once

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace stasis::store {

// Worker threads the store uses for CPU-bound work (at most 4).
inline unsigned worker_count() {
  return std::clamp(std::thread::hardware_concurrency(), 1U, 4U);
}

// Calls body(begin, end) on contiguous slices of [0, n) in parallel.
template <typename Body>
void parallel_for(std::size_t n, Body&& body, std::size_t min_per_thread = 64) {
  std::size_t threads = std::min<std::size_t>(worker_count(), (n + min_per_thread - 1) / min_per_thread);
  if (threads <= 1) {
    body(std::size_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  std::size_t step = (n + threads - 1) / threads;
  for (std::size_t t = 1; t < threads; ++t) {
    std::size_t begin = std::min(n, t * step);
    std::size_t end = std::min(n, begin + step);
    pool.emplace_back([&body, begin, end] { body(begin, end); });
  }
  body(std::size_t{0}, std::min(n, step));
  for (auto& thread : pool) {
    thread.join();
  }
}

} // namespace stasis::store
