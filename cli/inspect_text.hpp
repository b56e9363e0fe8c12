// Printing the inspect and diff reports (manager/inspect/reports.hpp) for
// people, and the restore preview of `stasisctl inspect --preview`.
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

namespace stasis::cli {

// The inspect report as tables: header, processes, memory maps, descriptors,
// files, sockets.
void print_inspect(const nlohmann::json& report, std::ostream& out);

// The diff report: processes, memory per mapping, files, sockets.
void print_diff(const nlohmann::json& report, std::ostream& out);

// What a restore of the inspected checkpoint would meet on this host, seen
// with the caller's rights (inspect_preview.cpp): "pids" (pids of the tree a
// running process holds), "cpu" (the CPU it was dumped on against this one),
// "kernel", "missing_files" and "changed_files" (files the restore reopens
// that are gone or whose size changed), and "ok".
nlohmann::json restore_preview(const nlohmann::json& report);
void print_preview(const nlohmann::json& preview, std::ostream& out);

} // namespace stasis::cli
