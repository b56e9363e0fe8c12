// stasis-wl-counter: counts intervals and keeps a redundant inverted copy of the
// count. Verification checks that both copies agree and that the count never went
// backwards since the previous verification. Status adds `counter=`.
// With --self-test-corrupt, SIGUSR2 breaks the redundant copy.
#include "tests/workloads/workload_common.hpp"

#include <string>

namespace stasis::workloads {
namespace {

class CounterProgram final : public Program {
public:
  void tick() override {
    ++m_counter;
    --m_inverted; // ~(c + 1) == ~c - 1: both copies are updated independently.
  }

  std::string verify() override {
    if (m_counter != ~m_inverted) {
      return "counter " + std::to_string(m_counter) +
             " disagrees with its redundant copy " + std::to_string(~m_inverted);
    }
    if (m_counter < m_last_verified) {
      return "counter went backwards from " + std::to_string(m_last_verified) + " to " +
             std::to_string(m_counter);
    }
    m_last_verified = m_counter;
    return {};
  }

  void step(bool corrupt) override {
    if (corrupt) {
      m_inverted ^= 0x10;
    }
  }

  void report(Status& status) const override { status.set("counter", m_counter); }

private:
  std::uint64_t m_counter = 0;
  std::uint64_t m_inverted = ~std::uint64_t{0};
  std::uint64_t m_last_verified = 0;
};

} // namespace
} // namespace stasis::workloads

int main(int argc, char** argv) {
  using namespace stasis::workloads;
  return workload_main(argc, argv, {}, [](const Options&) -> std::unique_ptr<Program> {
    return std::make_unique<CounterProgram>();
  });
}
