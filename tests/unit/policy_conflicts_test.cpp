// Options that contradict each other or lack a prerequisite are errors.
#include "policy/loader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

using ::testing::HasSubstr;

// Returns the single diagnostic of a job with these extra lines (indented 4).
std::string error_for(const std::string& target, const std::string& lines) {
  auto result = parse_policy_text(
      "version: 1\njobs:\n  - name: job\n    target: " + target + "\n" + lines, "t.yaml");
  if (result) {
    return "(valid)";
  }
  std::string all;
  for (const auto& d : result.error()) {
    all += (all.empty() ? "" : " | ") + d.to_string();
  }
  return all;
}

std::string error_for(const std::string& lines) {
  return error_for("{pid: 7}", lines);
}

TEST(APolicyParser, RejectsLeaveRunningWithLeaveStopped) {
  EXPECT_EQ(
      error_for("    criu:\n      leave-running: true\n      leave-stopped: true\n"),
      "t.yaml:7:7: 'criu.leave-stopped' conflicts with 'criu.leave-running': the tree "
      "cannot be left both running and stopped; set one of them to false");
}

TEST(APolicyParser, LetsLeaveStoppedOverrideTheScheduledDefault) {
  EXPECT_EQ(error_for("    schedule: {every: 1h}\n    criu: {leave-stopped: true}\n"),
            "(valid)");
}

TEST(APolicyParser, RejectsTcpEstablishedWithTcpClose) {
  EXPECT_THAT(error_for("    criu: {tcp-established: true, tcp-close: true}\n"),
              HasSubstr("'criu.tcp-close' conflicts with 'criu.tcp-established'"));
}

TEST(APolicyParser, RejectsRestoreSiblingWithoutDetached) {
  EXPECT_THAT(error_for("    restore: {sibling: true, detached: false}\n"),
              HasSubstr("'restore.sibling' needs 'restore.detached: true'"));
}

TEST(APolicyParser, RejectsContainerMountMappingWithoutRoot) {
  EXPECT_THAT(
      error_for("{runc: {id: web}}", "    restore:\n      ext-mount-map: {a: /b}\n"),
      HasSubstr("t.yaml:6:7: 'restore.ext-mount-map' on a container"));
  EXPECT_EQ(error_for("{runc: {id: web}}",
                      "    restore: {root: /srv/web, ext-mount-map: {a: /b}}\n"),
            "(valid)");
}

TEST(APolicyParser, RejectsExternalSharingWithoutAutoMounts) {
  EXPECT_THAT(error_for("    restore: {enable-external-sharing: true}\n"),
              HasSubstr("works only with 'restore.ext-mount-auto: true'"));
}

TEST(APolicyParser, RejectsCgroupRootWhenCgroupsAreIgnored) {
  EXPECT_THAT(
      error_for("    criu: {manage-cgroups: ignore}\n    restore: {cgroup-root: [/x]}\n"),
      HasSubstr("'restore.cgroup-root' has no effect"));
}

TEST(APolicyParser, RejectsLazyPagesWithoutPageServer) {
  EXPECT_THAT(error_for("    criu: {lazy-pages: true}\n"),
              HasSubstr("needs 'criu.page-server'"));
  EXPECT_EQ(
      error_for(
          "    criu: {lazy-pages: true, page-server: {address: 10.0.0.2, port: 2700}}\n"),
      "(valid)");
}

TEST(APolicyParser, RejectsStreamingIntoTheStoreAndToAPageServerTogether) {
  EXPECT_THAT(error_for("    criu: {stream-pages: true, page-server: {address: 10.0.0.2, "
                        "port: 2700}}\n"),
              HasSubstr("'criu.stream-pages' conflicts with 'criu.page-server'"));
  EXPECT_EQ(error_for("    criu: {stream-pages: true}\n"), "(valid)");
  EXPECT_THAT(error_for("    criu: {stream-pages: true}\n    incremental: {mode: "
                        "criu-pre-dump}\n"),
              HasSubstr("has no pre-dump parent"));
}

TEST(APolicyParser, RejectsSubSecondCriuTimeouts) {
  EXPECT_THAT(error_for("    criu: {timeout: 1500ms}\n"),
              HasSubstr("whole number of seconds"));
}

TEST(APolicyParser, RejectsEveryTogetherWithCalendar) {
  EXPECT_THAT(error_for("    schedule: {every: 1h, calendar: daily}\n"),
              HasSubstr("both 'every' and 'calendar'"));
}

TEST(APolicyParser, RejectsJitterOnOnDemandJobsAndLongJitter) {
  EXPECT_THAT(
      error_for("    schedule: {jitter: 1m}\n"),
      HasSubstr("'schedule.jitter' needs 'schedule.every' or 'schedule.calendar'"));
  EXPECT_THAT(error_for("    schedule: {every: 1m, jitter: 2m}\n"),
              HasSubstr("must be shorter than 'schedule.every'"));
}

TEST(APolicyParser, RejectsZeroIntervalsAndRetention) {
  EXPECT_THAT(error_for("    schedule: {every: 0}\n"), HasSubstr("longer than 0"));
  EXPECT_THAT(error_for("    retention: {keep-within: 0}\n"), HasSubstr("longer than 0"));
  EXPECT_THAT(error_for("    retention: {max-total-size: 0}\n"), HasSubstr("above 0"));
  EXPECT_THAT(error_for("    retention: {keep-daily: -1}\n"),
              HasSubstr("at least 1, got -1"));
}

TEST(APolicyParser, RejectsPreDumpModeOutsideCriuPreDump) {
  EXPECT_THAT(error_for("    incremental: {pre-dump-mode: read}\n"),
              HasSubstr("works only with 'incremental.mode: criu-pre-dump'"));
}

TEST(APolicyParser, RejectsProcessTargetsWithoutPattern) {
  EXPECT_THAT(error_for("{process: {user: alice}}", ""),
              HasSubstr("needs 'exe' or 'cmdline'"));
}

TEST(APolicyParser, RejectsEmptyAndDoubleTargets) {
  EXPECT_THAT(error_for("{}", ""),
              HasSubstr("is empty: give exactly one of pid, pidfile"));
  EXPECT_THAT(error_for("{pid: 1, podman: x}", ""),
              HasSubstr("gives 2 targets (pid, podman)"));
}

TEST(APolicyParser, RejectsHookCommandsThatAreNotAbsoluteArgumentLists) {
  EXPECT_THAT(error_for("    hooks:\n      pre-dump:\n        - run: sync\n"),
              HasSubstr("is a plain string"));
  EXPECT_THAT(error_for("    hooks:\n      pre-dump:\n        - run: [sync]\n"),
              HasSubstr("must be an absolute path, got 'sync'"));
  EXPECT_THAT(error_for("    hooks:\n      pre-dump:\n        - run: []\n"),
              HasSubstr("must be a non-empty list"));
  EXPECT_THAT(error_for("    hooks:\n      pre-dmp: []\n"),
              HasSubstr("did you mean 'pre-dump'?"));
  EXPECT_THAT(error_for("    hooks:\n      pre-dump:\n        - run: [/bin/true]\n"
                        "          env: {STASIS_JOB: x}\n"),
              HasSubstr("cannot set 'STASIS_JOB'"));
}

TEST(APolicyParser, RejectsUnknownEnumValuesWithSuggestions) {
  EXPECT_THAT(error_for("    criu: {manage-cgroups: sfot}\n"),
              HasSubstr("unknown value 'sfot'; did you mean 'soft'?"));
  EXPECT_THAT(error_for("    criu: {network-lock: iptable}\n"), HasSubstr("'iptables'"));
}

TEST(APolicyParser, RejectsMalformedExternalResources) {
  EXPECT_THAT(error_for("    criu: {external: [\"mount:/data\"]}\n"),
              HasSubstr("must be a CRIU external resource"));
  EXPECT_EQ(
      error_for("    criu: {external: [\"mnt[/data]:data\", \"net[4026531992]:ext\"]}\n"),
      "(valid)");
}

} // namespace
} // namespace stasis::policy
