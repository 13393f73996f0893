#include "portmatrix/fileio.hpp"
#include "portmatrix/texttable.hpp"
#include "portmatrix/matrix_diff.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "portmatrix/matrix_view.hpp"

namespace portmatrix {

namespace {

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

double jaccard(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  auto sa = sorted(a), sb = sorted(b);
  std::vector<std::string> common;
  std::set_intersection(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(common));
  std::size_t all = sa.size() + sb.size() - common.size();
  return all == 0 ? 1.0 : double(common.size()) / double(all);
}

bool same_content(const Flow& a, const Flow& b) {
  return sorted(a.sources) == sorted(b.sources) && sorted(a.destinations) == sorted(b.destinations) &&
         a.protocols == b.protocols && a.destination_ports == b.destination_ports && a.source_ports == b.source_ports;
}

// How alike two rows are, 0 when they cannot be the same row at all.
double likeness(const Flow& a, const Flow& b) {
  const double systems = (jaccard(a.sources, b.sources) + jaccard(a.destinations, b.destinations)) / 2;
  const bool ports = a.destination_ports.ports.overlaps(b.destination_ports.ports) || a.destination_ports == b.destination_ports;
  bool proto = a.protocols.unknown() || b.protocols.unknown();
  for (auto p : a.protocols.list()) proto |= b.protocols.has(p);
  // Same traffic between other systems, or the same systems on other ports or
  // (a vendor correcting tcp to udp) another protocol.
  if (ports && proto && systems > 0) return 1 + systems;
  if (systems == 1.0 && (proto || a.destination_ports == b.destination_ports)) return 0.5;
  return 0;
}

std::vector<FieldChange> changes(const Flow& a, const Flow& b) {
  std::vector<FieldChange> out;
  auto add = [&](const char* field, std::string x, std::string y) {
    if (x != y) out.push_back({field, std::move(x), std::move(y)});
  };
  add("sources", join(sorted(a.sources)), join(sorted(b.sources)));
  add("destinations", join(sorted(a.destinations)), join(sorted(b.destinations)));
  add("source_ports", a.source_ports.to_string(), b.source_ports.to_string());
  add("destination_ports", a.destination_ports.to_string(), b.destination_ports.to_string());
  add("protocols", protocols_label(a.protocols), protocols_label(b.protocols));
  add("optional", a.optional ? "yes" : "no", b.optional ? "yes" : "no");
  add("state", std::string(to_string(a.state)), std::string(to_string(b.state)));
  add("when_firewalled", std::string(to_string(a.when_firewalled)), std::string(to_string(b.when_firewalled)));
  add("addon", a.addon ? "yes" : "no", b.addon ? "yes" : "no");
  add("symmetric", a.symmetric ? "yes" : "no", b.symmetric ? "yes" : "no");
  return out;
}

std::string summary(const Flow& f) {
  return fmt::format("{} -> {} {}/{}", join(f.sources), join(f.destinations), f.destination_ports.to_string(),
                     protocols_label(f.protocols));
}

}  // namespace

MatrixDiff diff_matrices(const Matrix& a, const Matrix& b) {
  MatrixDiff d;
  std::vector<bool> used_a(a.flows.size()), used_b(b.flows.size());
  // First the rows that say exactly the same traffic.
  for (std::size_t i = 0; i < a.flows.size(); ++i)
    for (std::size_t j = 0; j < b.flows.size(); ++j) {
      if (used_b[j] || !same_content(a.flows[i], b.flows[j])) continue;
      used_a[i] = used_b[j] = true;
      auto c = changes(a.flows[i], b.flows[j]);
      if (c.empty()) ++d.same;
      else d.changed.push_back({&a.flows[i], &b.flows[j], std::move(c)});
      break;
    }
  // Then the most alike remaining pairs, best first.
  struct Cand {
    double score;
    std::size_t i, j;
  };
  std::vector<Cand> cands;
  for (std::size_t i = 0; i < a.flows.size(); ++i)
    for (std::size_t j = 0; j < b.flows.size(); ++j)
      if (!used_a[i] && !used_b[j])
        if (double s = likeness(a.flows[i], b.flows[j]); s > 0) cands.push_back({s, i, j});
  std::stable_sort(cands.begin(), cands.end(), [](const Cand& x, const Cand& y) { return x.score > y.score; });
  for (const auto& c : cands) {
    if (used_a[c.i] || used_b[c.j]) continue;
    used_a[c.i] = used_b[c.j] = true;
    d.changed.push_back({&a.flows[c.i], &b.flows[c.j], changes(a.flows[c.i], b.flows[c.j])});
  }
  for (std::size_t i = 0; i < a.flows.size(); ++i)
    if (!used_a[i]) d.removed.push_back(&a.flows[i]);
  for (std::size_t j = 0; j < b.flows.size(); ++j)
    if (!used_b[j]) d.added.push_back(&b.flows[j]);
  return d;
}

std::string diff_text(const MatrixDiff& d) {
  std::string s;
  for (const auto* f : d.removed) s += fmt::format("- {}: {}\n", f->id, summary(*f));
  for (const auto* f : d.added) s += fmt::format("+ {}: {}\n", f->id, summary(*f));
  for (const auto& c : d.changed) {
    s += fmt::format("~ {} / {}: {}\n", c.a->id, c.b->id, summary(*c.a));
    for (const auto& f : c.changes) s += fmt::format("    {}: {} -> {}\n", f.field, f.a, f.b);
  }
  s += fmt::format("{} removed, {} added, {} changed, {} the same\n", d.removed.size(), d.added.size(), d.changed.size(), d.same);
  return s;
}

std::string diff_json(const MatrixDiff& d) {
  using J = nlohmann::ordered_json;
  auto row = [](const Flow& f) {
    J protos = J::array();
    for (auto p : f.protocols.list()) protos.push_back(std::string(to_string(p)));
    return J{{"id", f.id},
             {"sources", f.sources},
             {"destinations", f.destinations},
             {"source_ports", f.source_ports.to_string()},
             {"destination_ports", f.destination_ports.to_string()},
             {"protocols", protos}};
  };
  J j;
  j["removed"] = J::array();
  for (const auto* f : d.removed) j["removed"].push_back(row(*f));
  j["added"] = J::array();
  for (const auto* f : d.added) j["added"].push_back(row(*f));
  j["changed"] = J::array();
  for (const auto& c : d.changed) {
    J ch = J::array();
    for (const auto& f : c.changes) ch.push_back({{"field", f.field}, {"a", f.a}, {"b", f.b}});
    j["changed"].push_back({{"a", c.a->id}, {"b", c.b->id}, {"changes", ch}});
  }
  j["same"] = d.same;
  return json_text(j, 2) + "\n";
}

}  // namespace portmatrix
