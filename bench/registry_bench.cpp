// Registry benchmark (issue 15): bytes a push uploads for a first and a later
// (1 %-dirty) checkpoint against a full push of the later one to an empty
// repository, and push/pull times, through a real docker-registry on
// loopback (TLS, htpasswd) started by the tests' TestRegistry. Prints
// name=value lines.
#include "remote/remote.hpp"
#include "store/store.hpp"
#include "tests/support/registry.hpp"
#include "tests/unit/store_test_images.hpp"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>

using namespace stasis;
using namespace stasis::store::testing;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "registry_bench: " << what << "\n";
  std::exit(1);
}

template <typename T>
T must(Result<T> r, const char* what) {
  if (!r) {
    fail(std::string(what) + ": " + r.error().message);
  }
  return std::move(*r);
}

} // namespace

int main(int argc, char** argv) {
  std::size_t mib = 256;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--mib") {
      mib = std::strtoul(argv[i + 1], nullptr, 10);
    }
  }
  test::TestRegistry registry;
  ScratchDir tmp;
  remote::ClientOptions options;
  options.credentials =
      remote::Credentials{test::TestRegistry::k_user, test::TestRegistry::k_password};
  options.ca_pem = registry.ca_pem();
  auto repo = must(remote::parse_reference(registry.host() + "/bench/svc"), "reference");
  auto full_repo =
      must(remote::parse_reference(registry.host() + "/bench/full"), "reference");

  auto store = must(store::Store::open(tmp.path() / "a"), "open");
  FakeMemory mem;
  std::mt19937_64 rng(1);
  mem.fill(0x7f0000000000, mib * 256, rng);
  auto ingest = [&](int n) {
    auto dir = tmp.path() / ("images-" + std::to_string(n));
    write_images(dir, mem);
    auto s = must(store.ingest("svc", dir, {}), "ingest");
    std::filesystem::remove_all(dir);
    return s.id;
  };
  auto first = ingest(1);
  std::size_t i = 0;
  for (auto& [vaddr, page] : mem.pages) {
    if (i++ % 100 == 0) {
      page = FakeMemory::random_page(rng);
    }
  }
  auto later = ingest(2);

  auto t = Clock::now();
  auto p1 =
      must(remote::push_checkpoint(store, "svc", first, repo, options, "bench"), "push");
  double first_push_s = seconds_since(t);
  t = Clock::now();
  auto p2 =
      must(remote::push_checkpoint(store, "svc", later, repo, options, "bench"), "push");
  double later_push_s = seconds_since(t);
  auto full = must(
      remote::push_checkpoint(store, "svc", later, full_repo, options, "bench"), "push");

  auto b = must(store::Store::open(tmp.path() / "b"), "open");
  auto pull_ref = repo;
  pull_ref.tag = "svc-bench-" + std::to_string(later);
  t = Clock::now();
  auto pulled = must(remote::pull_checkpoint(b, pull_ref, "svc", options), "pull");
  double full_pull_s = seconds_since(t);
  pull_ref.tag = "svc-bench-" + std::to_string(first);
  auto c = must(store::Store::open(tmp.path() / "c"), "open");
  must(remote::pull_checkpoint(c, pull_ref, "svc", options), "pull");
  pull_ref.tag = "svc-bench-" + std::to_string(later);
  t = Clock::now();
  auto delta = must(remote::pull_checkpoint(c, pull_ref, "svc", options), "pull");
  double later_pull_s = seconds_since(t);

  std::cout << "checkpoint_mib=" << mib << "\n"
            << "first_push_bytes=" << p1.bytes_uploaded << "\n"
            << "later_push_bytes=" << p2.bytes_uploaded << "\n"
            << "full_push_bytes=" << full.bytes_uploaded << "\n"
            << "later_vs_full_ratio="
            << static_cast<double>(p2.bytes_uploaded) /
                   static_cast<double>(full.bytes_uploaded)
            << "\n"
            << "first_push_s=" << first_push_s << "\n"
            << "later_push_s=" << later_push_s << "\n"
            << "full_pull_bytes=" << pulled.bytes_downloaded << "\n"
            << "full_pull_s=" << full_pull_s << "\n"
            << "later_pull_bytes=" << delta.bytes_downloaded << "\n"
            << "later_pull_s=" << later_pull_s << "\n";
  return 0;
}
