#include "io/import/systems.hpp"

#include <fmt/format.h>

#include "io/import/util.hpp"

namespace portmatrix {

const std::vector<SystemAlias>& builtin_system_aliases() {
  // Names seen in Avaya port matrices. A canonical name is known as itself too,
  // which lets a cell that lost its separators ("SNMP NMS SNMP SAL Gateway") be
  // split into the known names it consists of.
  static const std::vector<SystemAlias> table = {
      // A bare protocol in a list of clients means "any client of that protocol".
      {"SSH", "SSH/SFTP client"},
      {"SFTP", "SSH/SFTP client"},
      {"SSH client", "SSH/SFTP client"},
      {"SFTP client", "SSH/SFTP client"},
      // A protocol named in front of the system that receives it.
      {"SNMP SAL Gateway", "SAL Gateway"},
      {"SAL GW", "SAL Gateway"},
      {"Secure Access Link Gateway", "SAL Gateway"},
      {"SNMP Manager", "SNMP NMS"},
      {"SNMP NMS", "SNMP NMS"},
      // A part of the product talking to itself is the product.
      {"CMS internal Web", "CMS"},
      {"CMS Server", "CMS"},
      {"Administrator terminal", "Admin terminal"},
      {"Admin terminal", "Admin terminal"},
      {"Avaya Supervisor", "Avaya Supervisor"},
      {"Communication Manager", "CM"},
      {"NTP server", "Network Time Server"},
      {"WebLM server", "WebLM"},
  };
  return table;
}

namespace importer {

namespace {

// A pair qualifier: "X (HA pair)" names the other member of X's pair, "X HA peer".
struct PairQualifier {
  std::string_view qualifier;  // folded text inside the parentheses
  std::string_view suffix;     // appended to the base name
};
constexpr PairQualifier kPairQualifiers[] = {{"ha pair", "HA peer"}, {"ha peer", "HA peer"}, {"peer", "peer"}};

std::vector<std::string> space_words(std::string_view s) {
  std::vector<std::string> out;
  for (auto w : split(s, ' '))
    if (!w.empty()) out.emplace_back(w);
  return out;
}

// Strips a leading "or " / "and " left over from "A, B, or C".
std::string_view strip_conjunction(std::string_view s) {
  for (std::string_view c : {"or ", "and "})
    if (s.size() > c.size() && iequals(s.substr(0, c.size()), c)) return trim(s.substr(c.size()));
  return s;
}

}  // namespace

std::string tidy_system_name(std::string_view name) {
  std::string s = collapse_spaces(name);
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ' ' && ((i + 1 < s.size() && s[i + 1] == '/') || (!out.empty() && out.back() == '/'))) continue;
    out += s[i];
  }
  return out;
}

std::string fold_system_name(std::string_view name) { return lower(tidy_system_name(name)); }

SystemNames::SystemNames(const std::vector<SystemAlias>& extra) {
  auto add = [&](const SystemAlias& a) {
    std::string canonical = tidy_system_name(a.canonical);
    aliases_[fold_system_name(a.alias)] = canonical;
    aliases_.emplace(fold_system_name(canonical), canonical);  // does not override an explicit alias
  };
  for (const auto& a : builtin_system_aliases()) add(a);
  for (const auto& a : extra) {
    aliases_.erase(fold_system_name(a.alias));
    add(a);
  }
  for (const auto& [key, value] : aliases_) longest_ = std::max(longest_, space_words(key).size());
}

std::string SystemNames::canonical(std::string_view name) const {
  std::string key = fold_system_name(name);
  if (auto it = aliases_.find(key); it != aliases_.end()) return it->second;
  return tidy_system_name(name);
}

// Covers all words of name with the fewest known names; empty when no cover exists.
std::vector<std::string> SystemNames::segment(std::string_view name) const {
  auto ws = space_words(fold_system_name(name));
  const std::size_t n = ws.size();
  if (n < 2 || n > 64) return {};
  constexpr std::size_t kNone = SIZE_MAX;
  std::vector<std::size_t> best(n + 1, kNone), from(n + 1, 0);
  std::vector<std::string> used(n + 1);
  best[0] = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (best[i] == kNone) continue;
    std::string key;
    for (std::size_t j = i; j < n && j - i < longest_; ++j) {
      if (j > i) key += ' ';
      key += ws[j];
      auto it = aliases_.find(key);
      if (it == aliases_.end()) continue;
      if (best[i] + 1 < best[j + 1]) {
        best[j + 1] = best[i] + 1;
        from[j + 1] = i;
        used[j + 1] = it->second;
      }
    }
  }
  if (best[n] == kNone || best[n] < 2) return {};
  std::vector<std::string> out;
  for (std::size_t at = n; at > 0; at = from[at]) out.insert(out.begin(), used[at]);
  return out;
}

std::optional<SystemsCell> SystemNames::interpret(const Cell& cell, Diagnostics& diags) const {
  SystemsCell out;
  std::string text = cell.text;
  for (const auto& span : find_note_refs(cell.text)) {
    for (auto [id, off] : span.ids) out.notes.push_back({id, loc_in(cell, off)});
    for (std::size_t i = span.begin; i < span.end; ++i) text[i] = ' ';
  }
  auto add = [&](std::string name, std::string pair_of = {}) {
    for (const auto& s : out.systems)
      if (s.name == name) return;
    out.systems.push_back({std::move(name), std::move(pair_of)});
  };
  std::string part;
  auto flush = [&] {
    const std::string whole = std::move(part);
    part.clear();
    std::string_view p = strip_conjunction(trim(whole));
    if (p.empty()) return;
    // "X (HA pair)": the other member of X's pair.
    if (p.back() == ')') {
      auto open = p.rfind('(');
      if (open != std::string_view::npos && open > 0) {
        std::string q = fold_system_name(p.substr(open + 1, p.size() - open - 2));
        for (const auto& pq : kPairQualifiers) {
          if (q != pq.qualifier) continue;
          std::string base = canonical(trim(p.substr(0, open)));
          add(fmt::format("{} {}", base, pq.suffix), base);
          return;
        }
      }
    }
    if (aliases_.count(fold_system_name(p))) {
      add(canonical(p));
      return;
    }
    auto parts = segment(p);
    if (!parts.empty()) {
      for (auto& s : parts) add(std::move(s));
      return;
    }
    add(tidy_system_name(p));
  };
  for (char c : text) {
    if (c == ',' || c == ';' || c == '\n') flush();
    else part += c;
  }
  flush();
  if (out.systems.empty()) {
    diags.error(cell.loc, "empty system cell: a row needs a source and a destination system (a cell merged over "
                          "several rows must be written out in each row)");
    return std::nullopt;
  }
  return out;
}

}  // namespace importer
}  // namespace portmatrix
