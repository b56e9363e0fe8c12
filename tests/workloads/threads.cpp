// stasis-wl-threads: four threads each count in their own slot (every ~2 ms) and
// keep a redundant inverted copy. Verification checks that every thread made
// progress since the previous verification (waiting up to 1 s) and that each
// counter agrees with its copy. Status adds t0..t3.
// With --self-test-corrupt, SIGUSR2 breaks thread 1's redundant copy.
#include "tests/workloads/workload_common.hpp"

#include <array>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>

namespace stasis::workloads {
namespace {

constexpr std::size_t k_threads = 4;

struct alignas(64) Slot {
  mutable std::mutex mutex;
  std::uint64_t counter = 0;
  std::uint64_t inverted = ~std::uint64_t{0};
};

class ThreadsProgram final : public Program {
public:
  ThreadsProgram() {
    for (std::size_t i = 0; i < k_threads; ++i) {
      m_threads[i] = std::thread([this, i] { run(m_slots[i]); });
    }
  }
  ~ThreadsProgram() override { shutdown(); }

  void tick() override {}

  std::string verify() override {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    std::array<std::uint64_t, k_threads> now{};
    for (;;) {
      bool all_progressed = true;
      for (std::size_t i = 0; i < k_threads; ++i) {
        const std::lock_guard lock(m_slots[i].mutex);
        if (m_slots[i].counter != ~m_slots[i].inverted) {
          return "thread " + std::to_string(i) + " counter " +
                 std::to_string(m_slots[i].counter) + " disagrees with its copy " +
                 std::to_string(~m_slots[i].inverted);
        }
        now[i] = m_slots[i].counter;
        all_progressed = all_progressed && now[i] > m_last_verified[i];
      }
      if (all_progressed) {
        m_last_verified = now;
        return {};
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        for (std::size_t i = 0; i < k_threads; ++i) {
          if (now[i] <= m_last_verified[i]) {
            return "thread " + std::to_string(i) + " made no progress in 1 s (counter " +
                   std::to_string(now[i]) + ")";
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void step(bool corrupt) override {
    if (corrupt) {
      const std::lock_guard lock(m_slots[1].mutex);
      m_slots[1].inverted ^= 0x4;
    }
  }

  void report(Status& status) const override {
    for (std::size_t i = 0; i < k_threads; ++i) {
      const std::lock_guard lock(m_slots[i].mutex);
      status.set("t" + std::to_string(i), m_slots[i].counter);
    }
  }

  void shutdown() override {
    m_stop = true;
    for (auto& thread : m_threads) {
      if (thread.joinable()) {
        thread.join();
      }
    }
  }

private:
  void run(Slot& slot) {
    while (!m_stop) {
      {
        const std::lock_guard lock(slot.mutex);
        ++slot.counter;
        --slot.inverted; // ~(c + 1) == ~c - 1: both copies are updated independently.
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  std::array<Slot, k_threads> m_slots;
  std::array<std::uint64_t, k_threads> m_last_verified{};
  std::array<std::thread, k_threads> m_threads;
  std::atomic<bool> m_stop{false};
};

} // namespace
} // namespace stasis::workloads

int main(int argc, char** argv) {
  using namespace stasis::workloads;
  return workload_main(argc, argv, {}, [](const Options&) -> std::unique_ptr<Program> {
    return std::make_unique<ThreadsProgram>();
  });
}
