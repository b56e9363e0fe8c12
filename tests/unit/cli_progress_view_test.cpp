// stasisctl's progress display (cli/progress_view.hpp): the exact text for
// given signals and times, on a terminal and off one, and the rate and time
// left it computes.
#include "cli/progress_view.hpp"

#include <gtest/gtest.h>

namespace stasis::cli {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t k_mib = 1 << 20;
const ProgressClock::time_point t0{};

TEST(HumanBytes, UsesAtMostThreeDigitsAndBinaryUnits) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(9 * k_mib + k_mib / 2), "9.5 MiB");
  EXPECT_EQ(human_bytes(212 * k_mib), "212 MiB");
  EXPECT_EQ(human_bytes(1024 * k_mib - 1), "1023 MiB");
  EXPECT_EQ(human_bytes(1536 * k_mib), "1.5 GiB");
}

TEST(HumanEta, ShowsSecondsMinutesAndHours) {
  EXPECT_EQ(human_eta(9s), "9s");
  EXPECT_EQ(human_eta(125s), "2m05s");
  EXPECT_EQ(human_eta(3720s), "1h02m");
}

TEST(ARateMeter, MeasuresTheRateOverRecentSamplesAndTheTimeLeft) {
  RateMeter meter;
  meter.add(t0, 0);
  EXPECT_FALSE(meter.bytes_per_second()); // one sample
  meter.add(t0 + 200ms, 2 * k_mib);
  EXPECT_FALSE(meter.bytes_per_second()); // less than half a second
  meter.add(t0 + 1s, 10 * k_mib);
  ASSERT_TRUE(meter.bytes_per_second());
  EXPECT_DOUBLE_EQ(*meter.bytes_per_second(), 10.0 * k_mib);
  ASSERT_TRUE(meter.eta(100 * k_mib));
  EXPECT_EQ(*meter.eta(100 * k_mib), 9s);
  EXPECT_FALSE(meter.eta(0));          // no total
  EXPECT_FALSE(meter.eta(10 * k_mib)); // done
}

TEST(ARateMeter, ForgetsSamplesOlderThanItsWindow) {
  RateMeter meter;
  meter.add(t0, 0);
  meter.add(t0 + 10s, 100 * k_mib); // fast at first
  meter.add(t0 + 20s, 110 * k_mib); // then 1 MiB/s
  ASSERT_TRUE(meter.bytes_per_second());
  EXPECT_DOUBLE_EQ(*meter.bytes_per_second(), 1.0 * k_mib);
}

TEST(ARateMeter, HasNoRateWhenNothingMoves) {
  RateMeter meter;
  meter.add(t0, 5 * k_mib);
  meter.add(t0 + 2s, 5 * k_mib);
  EXPECT_FALSE(meter.bytes_per_second());
  EXPECT_FALSE(meter.eta(10 * k_mib));
}

TEST(AProgressView, RedrawsOneLineOnATerminal) {
  ProgressView view(true);
  EXPECT_EQ(view.update("resolving", 0, 0, t0), "\r\033[Kresolving");
  EXPECT_EQ(view.update("dumping", 0, 512 * k_mib, t0),
            "\r\033[Kdumping  0 B of 512 MiB  0%");
  EXPECT_EQ(view.update("dumping", 212 * k_mib, 512 * k_mib, t0 + 2s),
            "\r\033[Kdumping  212 MiB of 512 MiB  41%  106 MiB/s  ETA 3s");
  EXPECT_EQ(view.update("storing", 10 * k_mib, 0, t0 + 3s), "\r\033[Kstoring  10 MiB");
  EXPECT_EQ(view.finish(), "\r\033[K");
  EXPECT_EQ(view.finish(), "");
}

TEST(AProgressView, PrintsPlainLinesAtPhaseChangesAndEveryFewSecondsOffATerminal) {
  ProgressView view(false);
  std::string text;
  text += view.update("resolving", 0, 0, t0);
  text += view.update("dumping", 0, 100 * k_mib, t0);
  for (int i = 1; i <= 10; ++i) { // 10 MiB a second for 10 s, a signal a second
    text += view.update("dumping", i * 10 * k_mib, 100 * k_mib, t0 + i * 1s);
  }
  text += view.update("dumping", 100 * k_mib, 100 * k_mib, t0 + 10s); // repeated
  text += view.update("storing", 0, 0, t0 + 11s);
  text += view.finish();
  EXPECT_EQ(text, "resolving\n"
                  "dumping  0 B of 100 MiB  0%\n"
                  "dumping  50 MiB of 100 MiB  50%  10 MiB/s  ETA 5s\n"
                  "dumping  100 MiB of 100 MiB  100%  10 MiB/s\n"
                  "storing\n");
  EXPECT_EQ(text.find('\033'), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST(AProgressView, ClampsDoneToTheTotal) {
  ProgressView view(false);
  EXPECT_EQ(view.update("importing", 20 * k_mib, 10 * k_mib, t0),
            "importing  10 MiB of 10 MiB  100%\n");
}

} // namespace
} // namespace stasis::cli
