// Store scale benchmark: does a small checkpoint cost more in a big store?
// Builds stores holding about 0, 1 and 10 GB (logical; --big adds 50 GB) of
// synthetic checkpoints (distinct packs and manifests, as in real use), then
// times, through the same Store object as stasisd keeps, the checkpoint
// (ingest + commit) and the restore (materialize) of a ~130 KB images dir,
// and removing one checkpoint (retention). Prints name=value lines.
#include "store/store.hpp"
#include "tests/unit/store_test_images.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace stasis::store;
using namespace stasis::store::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t k_base = 0x7f0000000000;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Grows the store by about gb logical: 64 MiB checkpoints of a filler job
// whose pages mostly repeat (so it dedups and stays small on disk) with 1 %
// new pages each, so every checkpoint adds a pack and a manifest.
void grow(Store& store, const fs::path& work, double gb, std::mt19937_64& rng) {
  constexpr std::size_t k_pages = 16384; // 64 MiB
  FakeMemory mem;
  std::string same = FakeMemory::random_page(rng);
  for (std::size_t i = 0; i < k_pages; ++i) {
    mem.pages[k_base + i * 4096] = same;
  }
  auto n = static_cast<int>(gb * 1024 / 64);
  bool first = store.list("filler").value().empty();
  for (int c = 0; c < n; ++c) {
    // Later checkpoints are incremental dumps (unchanged pages in the
    // parent), as CRIU writes them, so growing the store is quick.
    std::set<std::uint64_t> in_parent;
    if (!first) {
      for (const auto& [vaddr, page] : mem.pages) {
        in_parent.insert(vaddr);
      }
    }
    first = false;
    for (int k = 0; k < 160; ++k) {
      auto vaddr = k_base + (rng() % k_pages) * 4096;
      mem.pages[vaddr] = FakeMemory::random_page(rng);
      in_parent.erase(vaddr);
    }
    auto dir = work / "filler";
    fs::remove_all(dir);
    write_images(dir, mem, in_parent);
    if (!store.ingest("filler", dir, {})) {
      std::cerr << "filler ingest failed\n";
      std::exit(1);
    }
  }
}

// With fresh, every call goes through a new Store object (a cold index: what
// every call cost before the index was kept, and what a one-shot stasisctl
// still pays once).
void measure(Store& kept, const fs::path& work, std::string tag, std::mt19937_64& rng,
             bool fresh) {
  auto store_for = [&]() { return fresh ? Store::open(kept.root()).value() : kept; };
  FakeMemory mem;
  mem.fill(k_base, 32, rng); // 128 KiB
  std::vector<double> ckpt, restore;
  for (int i = 0; i < 5; ++i) {
    mem.pages[k_base] = FakeMemory::random_page(rng);
    auto dir = work / "small";
    fs::remove_all(dir);
    write_images(dir, mem);
    auto store = store_for();
    auto t = Clock::now();
    auto s = store.ingest("small", dir, {});
    ckpt.push_back(ms_since(t));
    if (!s) {
      std::cerr << s.error().message << "\n";
      std::exit(1);
    }
    auto out = work / "out";
    fs::remove_all(out);
    store = store_for();
    t = Clock::now();
    auto m = store.materialize("small", s->id, out);
    restore.push_back(ms_since(t));
    if (!m) {
      std::cerr << m.error().message << "\n";
      std::exit(1);
    }
  }
  auto store = store_for();
  auto ids = store.list("small").value();
  auto t = Clock::now();
  auto r = store.remove("small", ids.front().id);
  double retention = ms_since(t);
  if (!r) {
    std::cerr << r.error().message << "\n";
    std::exit(1);
  }
  tag += fresh ? "_cold" : "_kept";
  std::cout << "checkpoint_ms_" << tag << "=" << median(ckpt) << "\n"
            << "restore_ms_" << tag << "=" << median(restore) << "\n"
            << "remove_one_ms_" << tag << "=" << retention << "\n";
}

} // namespace

int main(int argc, char** argv) {
  bool big = false;
  std::string work_dir = "/var/tmp";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--big") == 0) {
      big = true;
    } else if (std::strcmp(argv[i], "--work-dir") == 0 && i + 1 < argc) {
      work_dir = argv[++i];
    }
  }
  auto work = fs::path(work_dir) / ("stasis-scale-" + std::to_string(::getpid()));
  fs::create_directories(work);
  std::mt19937_64 rng{42};
  auto store = Store::open(work / "state").value();
  {
    std::ifstream load("/proc/loadavg");
    std::string l;
    std::getline(load, l);
    std::cout << "loadavg=\"" << l << "\"\n";
  }
  measure(store, work, "0gb", rng, false);
  measure(store, work, "0gb", rng, true);
  grow(store, work, 1, rng);
  measure(store, work, "1gb", rng, false);
  measure(store, work, "1gb", rng, true);
  grow(store, work, 9, rng);
  measure(store, work, "10gb", rng, false);
  measure(store, work, "10gb", rng, true);
  if (big) {
    grow(store, work, 40, rng);
    measure(store, work, "50gb", rng, false);
    measure(store, work, "50gb", rng, true);
  }
  if (auto u = store.usage()) {
    std::cout << "store_logical_bytes=" << u->logical_bytes << "\n"
              << "store_pack_bytes=" << u->pack_bytes << "\n";
  }
  std::size_t packs = 0;
  for ([[maybe_unused]] const auto& e :
       fs::directory_iterator(work / "state" / "packs")) {
    ++packs;
  }
  std::cout << "store_packs=" << packs << "\n";
  fs::remove_all(work);
  return 0;
}
