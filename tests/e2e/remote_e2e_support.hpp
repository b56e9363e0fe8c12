// Shared helpers of the registry tests: a real registry (TestRegistry),
// stores in temp dirs and checkpoints made from synthetic images.
#pragma once

#include "remote/remote.hpp"
#include "store/store.hpp"
#include "tests/support/registry.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/store_test_images.hpp"

#include <fstream>
#include <map>
#include <memory>

#include <gtest/gtest.h>

namespace stasis::remote::e2e {

namespace fs = std::filesystem;
using store::Store;
using store::testing::FakeMemory;

class RemoteE2e : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0U) << "the e2e tier must run as root";
    // A registry that cannot start fails the test (TestRegistry throws).
    m_registry = std::make_unique<test::TestRegistry>();
  }

  test::TestRegistry& registry() { return *m_registry; }

  ClientOptions options() const {
    ClientOptions o;
    o.credentials =
        Credentials{test::TestRegistry::k_user, test::TestRegistry::k_password};
    o.ca_pem = m_registry->ca_pem();
    return o;
  }

  Reference ref(const std::string& repository, const std::string& tag = "") const {
    auto text = m_registry->host() + "/" + repository + (tag.empty() ? "" : ":" + tag);
    auto r = parse_reference(text);
    EXPECT_TRUE(r) << r.error().message;
    return *r;
  }

  Store open_store(const std::string& name) {
    auto s = Store::open(m_tmp.path() / name);
    EXPECT_TRUE(s) << s.error().message;
    return std::move(*s);
  }

  // Random memory of n pages at a fixed address.
  static FakeMemory memory(std::size_t pages, std::uint64_t seed) {
    FakeMemory mem;
    std::mt19937_64 rng(seed);
    mem.fill(0x7f0000000000, pages, rng);
    return mem;
  }

  // Changes every 100th page (1 %) of mem.
  static void dirty_one_percent(FakeMemory& mem, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::size_t i = 0;
    for (auto& [vaddr, page] : mem.pages) {
      if (i++ % 100 == 0) {
        page = FakeMemory::random_page(rng);
      }
    }
  }

  // Stores mem as the next checkpoint of job; returns its id.
  std::uint64_t checkpoint(Store& store, const std::string& job, const FakeMemory& mem) {
    auto dir = m_tmp.path() / ("images-" + std::to_string(++m_count));
    store::testing::write_images(dir, mem);
    auto s = store.ingest(job, dir, {});
    EXPECT_TRUE(s) << s.error().message;
    fs::remove_all(dir);
    return s ? s->id : 0;
  }

  // Every file of a materialized checkpoint: name -> content.
  std::map<std::string, std::string> files(const Store& store, const std::string& job,
                                           std::uint64_t id) {
    auto dir = m_tmp.path() / ("out-" + std::to_string(++m_count));
    auto m = store.materialize(job, id, dir);
    EXPECT_TRUE(m) << m.error().message;
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
      std::ifstream in(e.path(), std::ios::binary);
      out[e.path().filename().string()] = std::string(
          (std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
    fs::remove_all(dir);
    return out;
  }

  const fs::path& tmp() const { return m_tmp.path(); }

private:
  std::unique_ptr<test::TestRegistry> m_registry;
  test::TempDir m_tmp{"stasis-remote"};
  int m_count = 0;
};

} // namespace stasis::remote::e2e
