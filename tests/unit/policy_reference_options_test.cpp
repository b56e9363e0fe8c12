// Every option of the manuals stasis replaces (tests/data/reference-options.txt,
// taken from criu(8), runc-checkpoint(8) and lxc-checkpoint(1)) has a home: a
// policy key whose origin ("Replaces:" in stasis.policy(5)) names it, or an
// entry below saying what in stasis takes its place.
#include "policy/keys.hpp"

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace stasis::policy {
namespace {

using Flag = std::pair<std::string, std::string>; // tool, option

// Options stasis takes care of itself rather than through a policy key.
const std::map<Flag, std::string>& handled_by_stasis() {
  static const std::map<Flag, std::string> handled = {
      {{"criu", "--images-dir"}, "the store: every run gets its own images dir"},
      {{"criu", "--log-file"}, "one log per run in the state dir (stasisctl history)"},
      {{"criu", "--log-pid"}, "one log per run already separates processes"},
      {{"criu", "--version"}, "stasisctl engine"},
      {{"criu", "--help"}, "stasisctl --help, stasis.policy(5)"},
      {{"criu", "--namespaces"},
       "namespaces are dumped as CRIU finds them (the "
       "option is obsolete); criu.empty-ns, criu.external"},
      {{"criu", "--daemon"}, "stasisd runs the page server and lazy-pages daemon"},
      {{"criu", "--close"}, "criu exec is gone from CRIU"},
      {{"criu", "--ms"}, "stasisctl engine runs CRIU's check"},
      {{"criu", "--feature"}, "stasisctl engine reports CRIU's features"},
      {{"runc", "--image-path"}, "the store: every run gets its own images dir"},
      {{"runc", "--status-fd"}, "stasisd starts and waits for the lazy-pages server"},
      {{"lxc-checkpoint", "--checkpoint-dir"}, "the store"},
      {{"lxc-checkpoint", "--restore"}, "stasisctl restore / D-Bus Restore"},
      {{"lxc-checkpoint", "--daemon"}, "restore.detached"},
      {{"lxc-checkpoint", "--foreground"}, "restore.detached: false"},
      {{"lxc-checkpoint", "--logfile"}, "one log per run in the state dir"},
      {{"lxc-checkpoint", "--logpriority"}, "criu.log-level"},
      {{"lxc-checkpoint", "--quiet"}, "stasisd logs to the journal"},
      {{"lxc-checkpoint", "--usage"}, "stasisctl --help"},
      {{"lxc-checkpoint", "--version"}, "stasisctl engine"},
      {{"lxc-checkpoint", "--help"}, "stasisctl --help"},
  };
  return handled;
}

// The (tool, option) pairs named in one origin: "criu -j/--shell-job; runc --x".
void add_origin(const std::string& origin, std::set<Flag>& out) {
  static const std::regex option("--?[A-Za-z][A-Za-z0-9-]*");
  std::stringstream parts(origin);
  for (std::string part; std::getline(parts, part, ';');) {
    std::stringstream words(part);
    std::string tool;
    words >> tool;
    for (std::sregex_iterator it(part.begin(), part.end(), option), end; it != end;
         ++it) {
      out.insert({tool, it->str()});
    }
  }
}

void collect(const ValueSpec& spec, std::set<Flag>& out) {
  if (spec.keys) {
    for (const auto& key : *spec.keys) {
      add_origin(key.origin, out);
      collect(*key.value, out);
    }
  }
  if (spec.element) {
    collect(*spec.element, out);
  }
}

TEST(EveryReferenceOption, HasAPolicyKeyOrIsTakenCareOfByStasis) {
  std::set<Flag> covered;
  collect(*language().job, covered);
  for (const auto& key : hook_keys()) {
    add_origin(key.origin, covered);
  }
  std::ifstream in(STASIS_SOURCE_DIR "/tests/data/reference-options.txt");
  ASSERT_TRUE(in) << "tests/data/reference-options.txt is missing";
  std::size_t options = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    ++options;
    std::stringstream words(line);
    std::string tool, spellings;
    words >> tool >> spellings;
    bool home = false;
    std::stringstream alternatives(spellings);
    for (std::string spelling; std::getline(alternatives, spelling, '/');) {
      home = home || covered.count({tool, spelling}) > 0 ||
             handled_by_stasis().count({tool, spelling}) > 0;
    }
    EXPECT_TRUE(home) << tool << " " << spellings
                      << " has no policy key naming it in its origin";
  }
  EXPECT_GE(options, 70u);
}

} // namespace
} // namespace stasis::policy
