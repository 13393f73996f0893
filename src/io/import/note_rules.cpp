#include "io/import/note_rules.hpp"

#include <algorithm>

#include "io/import/util.hpp"

namespace portmatrix::importer {

namespace {

// A rule matches a sentence when one of its phrases does and, if set, the
// sentence also contains the word `also`. A phrase matches when its words occur
// in order with at most kMaxGap other words between neighbours, so "ports are
// configured" and "port is configured" both match {"ports"|"port", "configured"}.
struct NoteRule {
  NoteEffect effect;
  std::vector<std::vector<std::string_view>> phrases;
  std::string_view also;
};

constexpr std::size_t kMaxGap = 3;

const std::vector<NoteRule>& rules() {
  static const std::vector<NoteRule> table = {
      {NoteEffect::configurable_port,
       {{"port", "configured"}, {"ports", "configured"}, {"port", "configurable"}, {"ports", "configurable"}},
       {}},
      {NoteEffect::addon, {{"not", "part", "of", "standard"}}, {}},
      {NoteEffect::localhost_only,
       {{"restricted", "localhost"}, {"limited", "localhost"}, {"only", "localhost"}},
       {}},
      {NoteEffect::closed_when_firewalled, {{"will", "be", "closed"}, {"closes"}}, "firewall"},
  };
  return table;
}

bool phrase_matches(const std::vector<std::string>& ws, const std::vector<std::string_view>& phrase) {
  for (std::size_t start = 0; start < ws.size(); ++start) {
    if (ws[start] != phrase[0]) continue;
    std::size_t at = start, k = 1;
    while (k < phrase.size()) {
      std::size_t limit = std::min(ws.size(), at + 2 + kMaxGap);
      std::size_t next = at + 1;
      while (next < limit && ws[next] != phrase[k]) ++next;
      if (next >= limit) break;
      at = next;
      ++k;
    }
    if (k == phrase.size()) return true;
  }
  return false;
}

bool all_digits(const std::string& w) {
  if (w.empty() || w.size() > 5) return false;
  for (char c : w)
    if (c < '0' || c > '9') return false;
  return true;
}

// The numbers that follow "port" or "ports" ("port 6001", "ports 3077 and 3078").
std::vector<std::uint16_t> named_ports(const std::vector<std::string>& ws) {
  std::vector<std::uint16_t> out;
  for (std::size_t i = 0; i < ws.size(); ++i) {
    if (ws[i] != "port" && ws[i] != "ports") continue;
    for (std::size_t j = i + 1; j < ws.size(); ++j) {
      if (ws[j] == "and") continue;
      if (!all_digits(ws[j]) || std::stoul(ws[j]) > 65535) break;
      out.push_back(static_cast<std::uint16_t>(std::stoul(ws[j])));
    }
  }
  return out;
}

std::vector<std::string> sentences(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == '.' || c == ';' || c == '!' || c == '?' || c == '\n') {
      if (!trim(cur).empty()) out.push_back(collapse_spaces(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!trim(cur).empty()) out.push_back(collapse_spaces(cur));
  return out;
}

}  // namespace

std::string_view to_string(NoteEffect e) {
  switch (e) {
    case NoteEffect::configurable_port: return "the port is configurable";
    case NoteEffect::addon: return "the row is an add-on offering";
    case NoteEffect::localhost_only: return "with the firewall on, only localhost may connect";
    case NoteEffect::closed_when_firewalled: return "the firewall closes the port";
  }
  return "?";
}

std::vector<NoteFact> note_facts(std::string_view text) {
  std::vector<NoteFact> out;
  auto sents = sentences(text);
  for (const auto& rule : rules()) {
    for (const auto& s : sents) {
      auto ws = words(s);
      if (!rule.also.empty() && std::find(ws.begin(), ws.end(), rule.also) == ws.end()) continue;
      bool hit = false;
      for (const auto& phrase : rule.phrases) hit = hit || phrase_matches(ws, phrase);
      if (!hit) continue;
      out.push_back({rule.effect, s, named_ports(ws)});
      break;
    }
  }
  return out;
}

}  // namespace portmatrix::importer
