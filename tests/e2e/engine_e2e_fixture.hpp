// Shared set-up of the engine e2e tests: root, the real CRIU, a subreaper and
// a scratch directory. Missing prerequisites fail the test loudly.
#pragma once

#include "engine/criu_client.hpp"
#include "engine/locator.hpp"
#include "tests/support/workload.hpp"

#include <memory>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::engine::e2e {

using namespace std::chrono_literals;

class EngineE2e : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "the engine e2e tests need root (CRIU dumps other "
                                  "processes); run them with sudo";
    auto criu = locate_criu(test::criu_binary());
    ASSERT_TRUE(criu) << "the engine e2e tests need the real CRIU: "
                      << criu.error().message;
    m_client = std::make_unique<CriuClient>(*criu);
  }

  test::Workload start(const char* name, std::vector<std::string> args = {}) {
    return test::Workload::start(name, std::move(args), m_dir.path() / name);
  }

  DumpOptions dump_options(const test::Workload& wl,
                           const char* images = "images") const {
    DumpOptions options;
    options.pid = wl.pid();
    options.images_dir = m_dir.path() / images;
    return options;
  }

  RestoreOptions restore_options(const char* images = "images") const {
    RestoreOptions options;
    options.images_dir = m_dir.path() / images;
    return options;
  }

  CriuClient& client() { return *m_client; }

  test::SubreaperScope m_subreaper;
  test::TempDir m_dir{"stasis-engine-e2e"};
  std::unique_ptr<CriuClient> m_client;
};

} // namespace stasis::engine::e2e
