#include "policy/duration.hpp"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

milliseconds duration_of(std::string_view text) {
  auto result = parse_duration(text);
  EXPECT_TRUE(result) << text << ": " << (result ? "" : result.error().message);
  return result ? *result : milliseconds{-1};
}

std::string duration_error(std::string_view text) {
  auto result = parse_duration(text);
  EXPECT_FALSE(result) << text << " parsed as " << (result ? result->count() : 0);
  return result ? "" : result.error().message;
}

TEST(ADurationParser, ReadsSingleUnits) {
  EXPECT_EQ(duration_of("90s"), 90s);
  EXPECT_EQ(duration_of("5m"), 5min);
  EXPECT_EQ(duration_of("5min"), 5min);
  EXPECT_EQ(duration_of("2h"), 2h);
  EXPECT_EQ(duration_of("2d"), 48h);
  EXPECT_EQ(duration_of("1w"), 168h);
  EXPECT_EQ(duration_of("500ms"), 500ms);
  EXPECT_EQ(duration_of("3 hours"), 3h);
  EXPECT_EQ(duration_of("1 week"), 168h);
}

TEST(ADurationParser, AddsUpSequencesOfParts) {
  EXPECT_EQ(duration_of("1h30m"), 90min);
  EXPECT_EQ(duration_of("1h 30m"), 90min);
  EXPECT_EQ(duration_of("1w2d3h4m5s6ms"), 1h * 24 * 9 + 3h + 4min + 5s + 6ms);
  EXPECT_EQ(duration_of("55s500ms"), 55500ms);
  EXPECT_EQ(duration_of(" 10s "), 10s);
}

TEST(ADurationParser, AcceptsABareZero) {
  EXPECT_EQ(duration_of("0"), 0ms);
  EXPECT_EQ(duration_of("0s"), 0ms);
}

TEST(ADurationParser, RejectsANumberWithoutUnit) {
  EXPECT_NE(duration_error("90").find("\"90\" needs a unit"), std::string::npos);
  EXPECT_NE(duration_error("1h30").find("\"30\" needs a unit"), std::string::npos);
}

TEST(ADurationParser, RejectsFractionsAndSuggestsCombinedUnits) {
  EXPECT_NE(duration_error("1.5h").find("\"1h30m\""), std::string::npos);
}

TEST(ADurationParser, RejectsUnknownUnitsAndShowsExamples) {
  const auto message = duration_error("5x");
  EXPECT_NE(message.find("unknown unit \"x\""), std::string::npos) << message;
  EXPECT_NE(message.find("\"1h30m\""), std::string::npos) << message;
}

TEST(ADurationParser, RejectsMonthsAndYears) {
  EXPECT_NE(duration_error("1y").find("no fixed length"), std::string::npos);
  EXPECT_NE(duration_error("2month").find("no fixed length"), std::string::npos);
}

TEST(ADurationParser, RejectsEmptySignedAndOverflowingInput) {
  EXPECT_NE(duration_error("").find("empty"), std::string::npos);
  EXPECT_NE(duration_error("  ").find("empty"), std::string::npos);
  EXPECT_NE(duration_error("-5s").find("no sign"), std::string::npos);
  EXPECT_NE(duration_error("99999999999999999999s").find("too large"), std::string::npos);
  EXPECT_NE(duration_error("9999999999999999w").find("too large"), std::string::npos);
  EXPECT_NE(duration_error("s").find("expected a number"), std::string::npos);
}

TEST(ADurationFormatter, WritesTheCanonicalForm) {
  EXPECT_EQ(format_duration(0ms), "0");
  EXPECT_EQ(format_duration(90min), "1h30m");
  EXPECT_EQ(format_duration(48h), "2d");
  EXPECT_EQ(format_duration(1h * 24 * 9 + 3h + 4min + 5s + 6ms), "1w2d3h4m5s6ms");
  EXPECT_EQ(format_duration(1500ms), "1s500ms");
  EXPECT_EQ(format_duration(-90s), "-1m30s");
}

TEST(ADurationFormatter, RoundTripsThroughTheParser) {
  for (const milliseconds value : std::initializer_list<milliseconds>{
           1ms, 999ms, 1s, 59s, 61s, 3599s, 3601s, 86399s, 86401s,
           milliseconds{604800001}, milliseconds{123456789012}}) {
    EXPECT_EQ(duration_of(format_duration(value)), value) << format_duration(value);
  }
}

std::uint64_t size_of(std::string_view text) {
  auto result = parse_size(text);
  EXPECT_TRUE(result) << text << ": " << (result ? "" : result.error().message);
  return result ? *result : 0;
}

std::string size_error(std::string_view text) {
  auto result = parse_size(text);
  EXPECT_FALSE(result) << text << " parsed as " << (result ? *result : 0);
  return result ? "" : result.error().message;
}

TEST(ASizeParser, ReadsBinaryAndDecimalUnits) {
  EXPECT_EQ(size_of("512"), 512U);
  EXPECT_EQ(size_of("512B"), 512U);
  EXPECT_EQ(size_of("10K"), 10240U);
  EXPECT_EQ(size_of("10k"), 10240U);
  EXPECT_EQ(size_of("1.5G"), 1610612736U);
  EXPECT_EQ(size_of("2GiB"), 2147483648U);
  EXPECT_EQ(size_of("2 GiB"), 2147483648U);
  EXPECT_EQ(size_of("100MB"), 100000000U);
  EXPECT_EQ(size_of("1T"), 1099511627776U);
  EXPECT_EQ(size_of("3kb"), 3000U);
  EXPECT_EQ(size_of("1.5 GiB"), 1610612736U);
}

TEST(ASizeParser, RoundsFractionalBytesDown) {
  EXPECT_EQ(size_of("0.1K"), 102U);
}

TEST(ASizeParser, RejectsBadInputWithExamples) {
  EXPECT_NE(size_error("").find("empty"), std::string::npos);
  EXPECT_NE(size_error("ten").find("expected a number"), std::string::npos);
  EXPECT_NE(size_error("-1").find("expected a number"), std::string::npos);
  const auto unit = size_error("10X");
  EXPECT_NE(unit.find("unknown unit \"X\""), std::string::npos) << unit;
  EXPECT_NE(unit.find("\"2GiB\""), std::string::npos) << unit;
  EXPECT_NE(size_error("1.5").find("whole number"), std::string::npos);
  EXPECT_NE(size_error("1.G").find("digits after the decimal point"), std::string::npos);
  EXPECT_NE(size_error("16384P").find("16 EiB"), std::string::npos);
  EXPECT_NE(size_error("99999999999999999999999999").find("too large"),
            std::string::npos);
}

TEST(ASizeFormatter, UsesBinaryUnitsWithAtMostTwoDecimals) {
  EXPECT_EQ(format_size(0), "0 B");
  EXPECT_EQ(format_size(512), "512 B");
  EXPECT_EQ(format_size(1024), "1 KiB");
  EXPECT_EQ(format_size(1610612736), "1.5 GiB");
  EXPECT_EQ(format_size(10485760), "10 MiB");
  EXPECT_EQ(format_size(1048575), "1 MiB");
  EXPECT_EQ(format_size(1234567), "1.18 MiB");
}

TEST(ASizeFormatter, RoundTripsValuesWithShortFractions) {
  for (const std::uint64_t value :
       {0ULL, 1ULL, 1023ULL, 1024ULL, 1536ULL, 1610612736ULL, 5ULL << 40, 3ULL << 50}) {
    EXPECT_EQ(size_of(format_size(value)), value) << format_size(value);
  }
}

} // namespace
} // namespace stasis::policy
