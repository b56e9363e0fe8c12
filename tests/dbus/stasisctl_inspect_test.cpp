// stasisctl diff and inspect against a real stasisd, real CRIU and
// self-checking workloads: a workload that dirties a known number of pages
// between two checkpoints, one that holds a file open; through the daemon
// (its access checks) and with --state-dir; export files, also broken ones.
#include "manager/inspect/reports.hpp"
#include "tests/dbus/daemon_fixture.hpp"

#include <fstream>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

namespace stasis::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class StasisctlInspect : public DaemonTest {
protected:
  // Takes a checkpoint of job through stasisctl; returns its id.
  std::string checkpoint(const std::string& job) {
    auto made = stasisctl({"--json", "checkpoint", job});
    EXPECT_EQ(made.exit_code, 0) << made.out << made.err << log();
    auto listed = stasisctl({"--json", "checkpoints", job});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    const auto items = json::parse(listed.out, nullptr, false);
    if (!items.is_array() || items.empty()) {
      ADD_FAILURE() << "no checkpoints: " << listed.out;
      return "";
    }
    return items.back()["id"].get<std::string>();
  }

  static json parse(const Captured& result) {
    auto j = json::parse(result.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << result.out << result.err;
    return j;
  }
};

// The mapping entries of a diff that hold address (hex text of the report).
std::vector<json> mappings_holding(const json& diff, std::uint64_t address) {
  std::vector<json> found;
  for (const auto& m : diff["memory"]["mappings"]) {
    const auto start = std::stoull(m["start"].get<std::string>(), nullptr, 16);
    const auto end = std::stoull(m["end"].get<std::string>(), nullptr, 16);
    if (start <= address && address < end) {
      found.push_back(m);
    }
  }
  return found;
}

TEST_F(StasisctlInspect, DiffReportsTheMappingAWorkloadDirtiedByThatManyPages) {
  // 4 MiB = 1024 pages; a step rewrites 25% of them: 256 pages.
  auto workload = Workload::start(
      "stasis-wl-memory", {"--bytes", "4M", "--dirty-percent", "25"}, dir() / "memory");
  ASSERT_TRUE(workload.wait_for_ticks(2, 10s));
  write_policy("mem.yaml", pidfile_job("mem", write_pidfile("mem", workload.pid()),
                                       "criu:\n  leave-running: true\n"));
  start_daemon();
  const auto first = checkpoint("mem");
  workload.step();
  const auto second = checkpoint("mem");
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  const auto region = std::stoull(workload.status()["region_addresses"], nullptr, 0);

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--json", "diff", "mem", first, "latest"},
        {"--json", "diff", "--state-dir", state_dir().string(), "mem", first, second}}) {
    const auto result = stasisctl(args);
    ASSERT_EQ(result.exit_code, 0) << result.out << result.err << log();
    const auto diff = parse(result);
    EXPECT_EQ(diff["from"], first);
    EXPECT_EQ(diff["to"], second);
    const auto found = mappings_holding(diff, region);
    ASSERT_EQ(found.size(), 1u) << diff["memory"].dump(2);
    const auto& m = found.front();
    EXPECT_EQ(m["pid"].get<pid_t>(), workload.pid());
    EXPECT_EQ(m["change"], "changed");
    // The 256 pages rewritten, and at most a few the allocator touched there.
    EXPECT_GE(m["pages_changed"].get<std::uint64_t>(), 256u) << m.dump();
    EXPECT_LE(m["pages_changed"].get<std::uint64_t>(), 256u + 16u) << m.dump();
    EXPECT_EQ(m["pages_removed"].get<std::uint64_t>(), 0u) << m.dump();
    EXPECT_GE(diff["memory"]["pages_changed"].get<std::uint64_t>(), 256u);
    EXPECT_TRUE(diff["processes"]["added"].empty());
    EXPECT_TRUE(diff["processes"]["removed"].empty());
  }

  // A diff holds every dumped page's identity: a larger checkpoint is refused.
  auto store = store::Store::open(state_dir());
  ASSERT_TRUE(store) << store.error().message;
  auto refused = manager::inspect::diff_stored(*store, "mem", std::stoull(first),
                                               std::stoull(second), 1000);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("too large to compare"), std::string::npos)
      << refused.error().message;

  const auto human = stasisctl({"diff", "mem", first, second});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("pages changed"), std::string::npos) << human.out;
  std::cout << "sample `stasisctl diff mem " << first << " " << second << "`:\n"
            << human.out;
  EXPECT_EQ(workload.verify(), "");
}

TEST_F(StasisctlInspect, InspectListsTheFileAWorkloadHoldsOpenAndPreviewsTheRestore) {
  const auto held = dir() / "held-data.txt";
  std::ofstream(held) << "what the holder holds\n";
  auto workload =
      Workload::start("stasis-wl-holder", {"--open", held.string()}, dir() / "holder");
  ASSERT_TRUE(workload.wait_for_ticks(2, 10s));
  write_policy("hold.yaml", pidfile_job("hold", write_pidfile("hold", workload.pid()),
                                        "criu:\n  leave-running: true\n"));
  start_daemon();
  const auto id = checkpoint("hold");
  ASSERT_FALSE(id.empty());

  const auto result = stasisctl({"--json", "inspect", "--preview", "hold", "latest"});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err << log();
  const auto report = parse(result);
  ASSERT_EQ(report["processes"].size(), 1u) << report.dump(2);
  const auto& process = report["processes"][0];
  EXPECT_EQ(process["pid"].get<pid_t>(), workload.pid());
  EXPECT_EQ(process["comm"], "stasis-wl-holde"); // the kernel keeps 15 characters
  bool has_fd = false;
  for (const auto& d : process["descriptors"]) {
    has_fd = has_fd || (d["type"] == "file" && d["target"] == held.string());
  }
  EXPECT_TRUE(has_fd) << process["descriptors"].dump(2);
  bool has_file = false;
  for (const auto& f : report["files"]) {
    has_file = has_file || f["path"] == held.string();
  }
  EXPECT_TRUE(has_file) << report["files"].dump(2);
  EXPECT_FALSE(process["mappings"].empty());
  EXPECT_FALSE(report["criu_version"].get<std::string>().empty());
  EXPECT_FALSE(report["kernel"].get<std::string>().empty());

  // The workload still runs under its pid: a restore here would clash.
  const auto& preview = report["preview"];
  ASSERT_EQ(preview["pids"].size(), 1u) << preview.dump(2);
  EXPECT_EQ(preview["pids"][0]["pid"].get<pid_t>(), workload.pid());
  EXPECT_TRUE(preview["missing_files"].empty()) << preview.dump(2);
  EXPECT_TRUE(preview["cpu"]["same_model"].get<bool>()) << preview.dump(2);
  EXPECT_FALSE(preview["ok"].get<bool>());

  // Once the file is gone, the preview names it.
  std::filesystem::remove(held);
  const auto after = parse(stasisctl({"--json", "inspect", "--preview", "hold", id}));
  ASSERT_EQ(after["preview"]["missing_files"].size(), 1u) << after["preview"].dump(2);
  EXPECT_EQ(after["preview"]["missing_files"][0], held.string());

  const auto human = stasisctl({"inspect", "--preview", "hold", id});
  EXPECT_EQ(human.exit_code, 0) << human.err;
  std::cout << "sample `stasisctl inspect --preview hold " << id << "`:\n" << human.out;
  EXPECT_NE(human.out.find("missing file: " + held.string()), std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("is in use by a running process"), std::string::npos)
      << human.out;
  EXPECT_EQ(workload.verify(), "");
}

TEST_F(StasisctlInspect, InspectReadsAnExportFileAndRefusesBrokenOnesClearly) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 10s));
  write_policy("count.yaml", pidfile_job("count", write_pidfile("count", workload.pid()),
                                         "criu:\n  leave-running: true\n"));
  start_daemon();
  const auto id = checkpoint("count");
  ASSERT_FALSE(id.empty());
  const auto file = dir() / "count.stasis";
  const auto exported = stasisctl(
      {"export", "--state-dir", state_dir().string(), "count", id, file.string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;

  const auto result = stasisctl({"--json", "inspect", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const auto report = parse(result);
  EXPECT_EQ(report["imported_from"], "count/" + id);
  ASSERT_EQ(report["processes"].size(), 1u);
  EXPECT_EQ(report["processes"][0]["pid"].get<pid_t>(), workload.pid());

  // Not an export file, and one cut short: exit 1, a sentence, no scratch left.
  const auto garbage = dir() / "garbage.stasis";
  std::ofstream(garbage) << "this is not an export file at all";
  const auto refused = stasisctl({"inspect", garbage.string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("not a stasis export file"), std::string::npos)
      << refused.err;
  const auto cut = dir() / "cut.stasis";
  std::filesystem::copy_file(file, cut);
  std::filesystem::resize_file(cut, std::filesystem::file_size(file) / 2);
  const auto truncated = stasisctl({"inspect", cut.string()});
  EXPECT_EQ(truncated.exit_code, 1);
  EXPECT_NE(truncated.err.find("truncated"), std::string::npos) << truncated.err;
  EXPECT_EQ(stasisctl({"inspect", (dir() / "absent.stasis").string()}).exit_code, 5);
}

TEST_F(StasisctlInspect, DiffAndInspectDoNotExistForAUserTheJobDoesNotName) {
  auto workload = Workload::start("stasis-wl-counter", {}, dir() / "counter");
  ASSERT_TRUE(workload.wait_for_ticks(2, 10s));
  write_policy("private.yaml",
               pidfile_job("private", write_pidfile("private", workload.pid()),
                           "criu:\n  leave-running: true\n"));
  start_daemon();
  const auto id = checkpoint("private");
  ASSERT_FALSE(id.empty());
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"inspect", "private", id},
        {"diff", "private", id, id}}) {
    const auto denied = stasisctl(args, "daemon");
    EXPECT_EQ(denied.exit_code, 5) << args[0] << ": " << denied.out << denied.err;
    EXPECT_NE(denied.err.find("no job named 'private'"), std::string::npos) << denied.err;
    EXPECT_EQ(denied.out, "");
  }
  const auto missing = stasisctl({"diff", "private", id, "999"});
  EXPECT_EQ(missing.exit_code, 5) << missing.err;
}

} // namespace
} // namespace stasis::test
