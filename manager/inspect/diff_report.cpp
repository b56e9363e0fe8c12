// diff_report() and diff_stored(): what changed between two checkpoints.
#include "manager/inspect/report_text.hpp"
#include "manager/inspect/reports.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace stasis::manager::inspect {

using nlohmann::json;

namespace {

using Mappings = std::vector<engine::MappingInfo>;

// The mapping holding vaddr (mappings sorted by start), or -1.
long mapping_of(const Mappings& mappings, std::uint64_t vaddr) {
  auto it = std::upper_bound(mappings.begin(), mappings.end(), vaddr,
                             [](std::uint64_t v, const auto& m) { return v < m.start; });
  if (it == mappings.begin()) {
    return -1;
  }
  --it;
  return vaddr < it->end ? static_cast<long>(it - mappings.begin()) : -1;
}

struct PageCounts {
  std::uint64_t changed = 0, added = 0, removed = 0;
  bool any() const { return changed + added + removed != 0; }
};

// Compares the memory of one process present in both checkpoints; appends
// a line per mapping that changed, and adds the pages to totals.
void diff_memory(pid_t pid, const engine::ProcessInfo& a, const engine::ProcessInfo& b,
                 const std::vector<PageId>& pa, const std::vector<PageId>& pb, json& out,
                 PageCounts& totals) {
  // Pages are counted in b's mapping when b has one there, else in a's.
  std::map<long, PageCounts> in_b, in_a;
  const auto count = [&](std::uint64_t vaddr, auto field) {
    const long mb = mapping_of(b.mappings, vaddr);
    if (mb >= 0) {
      ++(in_b[mb].*field);
    } else {
      ++(in_a[mapping_of(a.mappings, vaddr)].*field);
    }
    ++(totals.*field);
  };
  std::size_t i = 0, j = 0;
  while (i < pa.size() || j < pb.size()) {
    if (j == pb.size() || (i < pa.size() && pa[i].vaddr < pb[j].vaddr)) {
      count(pa[i++].vaddr, &PageCounts::removed);
    } else if (i == pa.size() || pb[j].vaddr < pa[i].vaddr) {
      count(pb[j++].vaddr, &PageCounts::added);
    } else {
      if (pa[i].content != pb[j].content) {
        count(pb[j].vaddr, &PageCounts::changed);
      }
      ++i;
      ++j;
    }
  }
  std::map<std::uint64_t, long> a_by_start;
  for (std::size_t k = 0; k < a.mappings.size(); ++k) {
    a_by_start[a.mappings[k].start] = static_cast<long>(k);
  }
  const auto line = [&](const engine::MappingInfo& m, const std::string& change,
                        const PageCounts& pages) {
    json entry = mapping_json(m);
    entry["pid"] = pid;
    entry["change"] = change;
    entry["pages_changed"] = pages.changed;
    entry["pages_added"] = pages.added;
    entry["pages_removed"] = pages.removed;
    entry["bytes_changed"] = (pages.changed + pages.added) * store::k_page_size;
    out.push_back(std::move(entry));
  };
  std::vector<bool> a_matched(a.mappings.size(), false);
  for (std::size_t k = 0; k < b.mappings.size(); ++k) {
    const auto& m = b.mappings[k];
    const auto pages =
        in_b.count(static_cast<long>(k)) ? in_b[static_cast<long>(k)] : PageCounts{};
    auto match = a_by_start.find(m.start);
    if (match == a_by_start.end()) {
      line(m, "added", pages);
      continue;
    }
    a_matched[static_cast<std::size_t>(match->second)] = true;
    const auto& old = a.mappings[static_cast<std::size_t>(match->second)];
    const bool resized = old.end != m.end;
    const bool redone = old.prot != m.prot || old.path != m.path || old.kind != m.kind;
    if (resized || redone || pages.any()) {
      line(m, resized ? "resized" : redone ? "remapped" : "changed", pages);
    }
  }
  for (std::size_t k = 0; k < a.mappings.size(); ++k) {
    if (!a_matched[k]) {
      const auto pages =
          in_a.count(static_cast<long>(k)) ? in_a[static_cast<long>(k)] : PageCounts{};
      line(a.mappings[k], "removed", pages);
    }
  }
  if (in_a.count(-1) && in_a[-1].any()) {
    // Pages outside any mapping of either image (malformed or foreign images).
    engine::MappingInfo none;
    none.kind = "unmapped";
    line(none, "changed", in_a[-1]);
  }
}

bool is_socket(const std::string& type) {
  return type.starts_with("tcp") || type.starts_with("udp") || type.starts_with("unix") ||
         type == "inet" || type == "packet" || type == "netlink";
}

// Descriptors added, removed or changed (another file behind the same fd),
// split into files and sockets.
void diff_descriptors(pid_t pid, const engine::ProcessInfo& a,
                      const engine::ProcessInfo& b, json& files, json& sockets) {
  std::map<int, const engine::DescriptorInfo*> old_fds, new_fds;
  for (const auto& d : a.descriptors) {
    old_fds[d.fd] = &d;
  }
  for (const auto& d : b.descriptors) {
    new_fds[d.fd] = &d;
  }
  const auto put = [&](const engine::DescriptorInfo& d, const std::string& change,
                       const std::string& before) {
    json j{{"pid", pid},
           {"fd", d.fd},
           {"type", d.type},
           {"target", d.target},
           {"change", change}};
    if (!before.empty()) {
      j["was"] = before;
    }
    (is_socket(d.type) ? sockets : files).push_back(std::move(j));
  };
  for (const auto& [fd, d] : new_fds) {
    auto it = old_fds.find(fd);
    if (it == old_fds.end()) {
      put(*d, "added", "");
    } else if (it->second->type != d->type || it->second->target != d->target) {
      put(*d, "changed", it->second->type + " " + it->second->target);
    }
  }
  for (const auto& [fd, d] : old_fds) {
    if (!new_fds.contains(fd)) {
      put(*d, "removed", "");
    }
  }
}

json process_brief(const engine::ProcessInfo& p) {
  return {{"pid", p.pid}, {"ppid", p.ppid}, {"comm", p.comm}, {"exe", p.exe}};
}

} // namespace

json diff_report(const CheckpointView& from, const CheckpointView& to) {
  std::map<pid_t, const engine::ProcessInfo*> old_tree, new_tree;
  for (const auto& p : from.contents.processes) {
    old_tree[p.pid] = &p;
  }
  for (const auto& p : to.contents.processes) {
    new_tree[p.pid] = &p;
  }
  json added = json::array(), removed = json::array(), changed = json::array();
  json mappings = json::array();
  json files = json::array();
  json sockets = json::array();
  PageCounts totals;
  static const std::vector<PageId> no_pages;
  const auto pages_of = [](const CheckpointView& v, pid_t pid) -> const auto& {
    auto it = v.pages.find(pid);
    return it == v.pages.end() ? no_pages : it->second;
  };
  for (const auto& [pid, p] : new_tree) {
    auto it = old_tree.find(pid);
    if (it == old_tree.end()) {
      json j = process_brief(*p);
      j["dumped_pages"] = pages_of(to, pid).size();
      added.push_back(std::move(j));
      continue;
    }
    const auto& old = *it->second;
    json changes = json::object();
    const auto field = [&](const char* name, const auto& before, const auto& after) {
      if (before != after) {
        changes[name] = {{"from", before}, {"to", after}};
      }
    };
    field("comm", old.comm, p->comm);
    field("ppid", old.ppid, p->ppid);
    field("exe", old.exe, p->exe);
    field("state", old.state, p->state);
    field("uid", old.uid, p->uid);
    field("threads", old.threads.size(), p->threads.size());
    if (!changes.empty()) {
      json j = process_brief(*p);
      j["changes"] = std::move(changes);
      changed.push_back(std::move(j));
    }
    diff_memory(pid, old, *p, pages_of(from, pid), pages_of(to, pid), mappings, totals);
    diff_descriptors(pid, old, *p, files, sockets);
  }
  for (const auto& [pid, p] : old_tree) {
    if (!new_tree.contains(pid)) {
      json j = process_brief(*p);
      j["dumped_pages"] = pages_of(from, pid).size();
      removed.push_back(std::move(j));
    }
  }
  return {{"job", to.manifest.job},
          {"from", std::to_string(from.manifest.id)},
          {"to", std::to_string(to.manifest.id)},
          {"processes", {{"added", added}, {"removed", removed}, {"changed", changed}}},
          {"memory",
           {{"pages_changed", totals.changed},
            {"pages_added", totals.added},
            {"pages_removed", totals.removed},
            {"bytes_changed", (totals.changed + totals.added) * store::k_page_size},
            {"mappings", mappings}}},
          {"files", files},
          {"sockets", sockets}};
}

Result<json> diff_stored(const store::Store& store, const std::string& job,
                         std::uint64_t from, std::uint64_t to, std::uint64_t max_pages) {
  auto a = STASIS_TRY(read_view(store, job, from, true, max_pages));
  auto b = STASIS_TRY(read_view(store, job, to, true, max_pages));
  return diff_report(a, b);
}

} // namespace stasis::manager::inspect
