// `stasisctl engine`: which CRIU stasis uses and what it can do here.
#include "cli/commands.hpp"
#include "engine/criu_client.hpp"
#include "engine/locator.hpp"

#include <iostream>
#include <optional>
#include <string>
#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace stasis::cli {
namespace {

struct EngineArgs {
  std::string criu;
};

std::string kernel_release() {
  utsname name{};
  if (::uname(&name) != 0) {
    return "unknown";
  }
  return fmt::format("{} {}", name.sysname, name.release);
}

// Runs the queries and prints their results; returns the exit code.
int show_engine(const EngineArgs& args, bool as_json) {
  using nlohmann::json;
  json out;
  out["kernel"] = kernel_release();
  int exit_code = 0;
  auto fail = [&](const std::string& key, const std::string& message) {
    out[key] = {{"error", message}};
    exit_code = 1;
  };

  auto path = engine::locate_criu(
      args.criu.empty() ? std::nullopt : std::optional<std::filesystem::path>(args.criu));
  if (!path) {
    fail("criu", path.error().message);
  } else if (::geteuid() != 0) {
    out["criu"] = {{"path", path->string()}};
    fail("check", "stasisctl engine must run as root: CRIU needs CAP_SYS_ADMIN and "
                  "CAP_CHECKPOINT_RESTORE to query the kernel");
  } else {
    engine::CriuClient client(*path);
    out["criu"] = {{"path", path->string()}};
    if (auto version = client.version()) {
      out["criu"]["version"] = *version;
    } else {
      fail("version", version.error().message());
    }
    if (auto checked = client.check()) {
      out["check"] = {{"ok", true}};
    } else {
      out["check"] = {{"ok", false}, {"error", checked.error().message()}};
      exit_code = 1;
    }
    if (auto features = client.features()) {
      out["features"]["mem_track"] = {{"available", features->mem_track}};
      if (!features->mem_track) {
        out["features"]["mem_track"]["reason"] = features->mem_track_reason;
      }
      out["features"]["lazy_pages"] = {{"available", features->lazy_pages}};
      if (!features->lazy_pages) {
        out["features"]["lazy_pages"]["reason"] = features->lazy_pages_reason;
      }
    } else {
      fail("features", features.error().message());
    }
  }

  if (as_json) {
    std::cout << out.dump(2) << '\n';
    return exit_code;
  }
  auto text = [](const json& node, const char* key) {
    return node.contains(key) ? node[key].get<std::string>() : std::string("-");
  };
  const json& criu = out.value("criu", json::object());
  fmt::print("criu:        {}\n", criu.contains("error")
                                      ? "not found: " + text(criu, "error")
                                      : text(criu, "path"));
  if (out.contains("version")) {
    fmt::print("version:     error: {}\n", text(out["version"], "error"));
  } else if (criu.contains("version")) {
    fmt::print("version:     {}\n", text(criu, "version"));
  }
  if (out.contains("check")) {
    const json& check = out["check"];
    fmt::print("check:       {}\n", check.value("ok", false)
                                        ? std::string("ok")
                                        : "failed: " + text(check, "error"));
  }
  if (out.contains("features") && out["features"].contains("error")) {
    fmt::print("features:    error: {}\n", text(out["features"], "error"));
  } else if (out.contains("features")) {
    for (const char* name : {"mem_track", "lazy_pages"}) {
      const json& feature = out["features"][name];
      fmt::print("{:<12} {}\n", std::string(name) + ":",
                 feature["available"].get<bool>()
                     ? std::string("yes")
                     : "no (" + text(feature, "reason") + ")");
    }
  }
  fmt::print("kernel:      {}\n", text(out, "kernel"));
  return exit_code;
}

} // namespace

void register_engine_commands(CLI::App& app, GlobalOptions& options) {
  auto args = std::make_shared<EngineArgs>();
  auto* command = app.add_subcommand(
      "engine", "Show the CRIU stasis uses: path, version, kernel check and features");
  command->add_option("--criu", args->criu, "Use this criu binary instead of searching");
  command->fallthrough();
  command->callback(
      [args, &options] { options.exit_code = show_engine(*args, options.json); });
}

} // namespace stasis::cli
