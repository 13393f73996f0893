// Drift of the active nftables ruleset from the compiled one (see drift.hpp).
#include "portmatrix/drift.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "portmatrix/netns.hpp"
#include "portmatrix/nft.hpp"

namespace portmatrix::drift {

using nlohmann::json;

const NftTable* NftRuleset::find_table(std::string_view family, std::string_view name) const {
  for (const auto& t : tables)
    if (t.family == family && t.name == name) return &t;
  return nullptr;
}

const NftSet* NftRuleset::find_set(std::string_view family, std::string_view table, std::string_view name) const {
  for (const auto& s : sets)
    if (s.family == family && s.table == table && s.name == name) return &s;
  return nullptr;
}

std::string_view to_string(DiffKind k) {
  switch (k) {
    case DiffKind::table_dormant: return "table-dormant";
    case DiffKind::chain_missing: return "chain-missing";
    case DiffKind::chain_extra: return "chain-extra";
    case DiffKind::chain_changed: return "chain-changed";
    case DiffKind::rule_missing: return "rule-missing";
    case DiffKind::rule_extra: return "rule-extra";
    case DiffKind::rule_changed: return "rule-changed";
    case DiffKind::rule_order: return "rule-order";
    case DiffKind::set_missing: return "set-missing";
    case DiffKind::set_extra: return "set-extra";
    case DiffKind::set_changed: return "set-changed";
  }
  return "?";
}

namespace {

// Counter values change with every packet; what a rule does does not.
void zero_counters(json& j) {
  if (j.is_array()) {
    for (auto& x : j) zero_counters(x);
  } else if (j.is_object()) {
    for (auto& [key, value] : j.items()) {
      if (key == "counter" && value.is_object() && value.contains("packets")) value = nullptr;
      else zero_counters(value);
    }
  }
}

std::string str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Expected<NftRuleset> parse_json(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("nftables") || !j["nftables"].is_array())
    return Error{Error::Kind::kernel, "libnftables returned JSON that is not an nftables listing"};
  NftRuleset rs;
  for (const auto& item : j["nftables"]) {
    if (!item.is_object()) continue;
    if (auto it = item.find("table"); it != item.end()) {
      rs.tables.push_back({str(*it, "family"), str(*it, "name"), false});
    } else if (auto c = item.find("chain"); c != item.end()) {
      NftChain ch{str(*c, "family"), str(*c, "table"), str(*c, "name"), str(*c, "type"), str(*c, "hook"), str(*c, "policy"), 0};
      if (c->contains("prio") && (*c)["prio"].is_number_integer()) ch.priority = (*c)["prio"].get<int>();
      rs.chains.push_back(std::move(ch));
    } else if (auto s = item.find("set") != item.end() ? item.find("set") : item.find("map"); s != item.end()) {
      json body = *s;
      body.erase("handle");
      if (body.contains("elem") && body["elem"].is_array())
        std::sort(body["elem"].begin(), body["elem"].end());
      rs.sets.push_back({str(*s, "family"), str(*s, "table"), str(*s, "name"), std::move(body)});
    } else if (auto r = item.find("rule"); r != item.end()) {
      NftRule rule{str(*r, "family"), str(*r, "table"), str(*r, "chain"), 0, str(*r, "comment"),
                   r->value("expr", json::array()), ""};
      if (r->contains("handle") && (*r)["handle"].is_number_unsigned()) rule.handle = (*r)["handle"].get<std::uint64_t>();
      zero_counters(rule.expr);
      rs.rules.push_back(std::move(rule));
    }
  }
  return rs;
}

void attach_text(NftRuleset& rs, std::string_view listing) {
  static const std::regex counter_values(R"(counter packets \d+ bytes \d+)");
  std::map<std::tuple<std::string, std::string, std::uint64_t>, NftRule*> by_handle;
  for (auto& r : rs.rules) by_handle[{r.family, r.table, r.handle}] = &r;
  std::istringstream in{std::string(listing)};
  std::string line, family, table;
  int depth = 0;
  bool in_chain = false;
  while (std::getline(in, line)) {
    std::string body = line;
    std::string handle;
    if (auto pos = body.rfind(" # handle "); pos != std::string::npos) {
      handle = body.substr(pos + 10);
      body.erase(pos);
    }
    auto first = body.find_first_not_of(" \t");
    std::string trimmed = first == std::string::npos ? "" : body.substr(first);
    if (depth == 0 && trimmed.rfind("table ", 0) == 0) {
      std::istringstream words(trimmed);
      std::string kw;
      words >> kw >> family >> table;
    } else if (depth == 1 && trimmed.rfind("flags ", 0) == 0 && trimmed.find("dormant") != std::string::npos) {
      for (auto& t : rs.tables)
        if (t.family == family && t.name == table) t.dormant = true;
    } else if (depth == 1) {
      in_chain = trimmed.rfind("chain ", 0) == 0;
    } else if (depth == 2 && in_chain && !handle.empty()) {
      std::uint64_t h = 0;
      if (std::from_chars(handle.data(), handle.data() + handle.size(), h).ec == std::errc())
        if (auto it = by_handle.find({family, table, h}); it != by_handle.end())
          it->second->text = std::regex_replace(trimmed, counter_values, "counter");
    }
    // Braces inside quoted strings (comments, log prefixes) do not nest.
    bool quoted = false;
    for (char ch : body) {
      if (ch == '"') quoted = !quoted;
      else if (!quoted && ch == '{') ++depth;
      else if (!quoted && ch == '}') --depth;
    }
  }
}

namespace {

Expected<NftRuleset> read_current(std::string_view what) {
  auto j = nft::run(what, true);
  if (!j) return j.error();
  auto rs = parse_json(*j);
  if (!rs) return rs.error();
  if (auto text = nft::run(what, false, false, true)) attach_text(*rs, *text);
  return rs;
}

}  // namespace

Expected<NftRuleset> read_live() { return read_current("list ruleset"); }

Expected<NftRuleset> read_expected(std::string_view nft_text) {
  std::optional<Expected<NftRuleset>> out;
  Status st = netns::in_private_namespace([&] {
    if (auto loaded = nft::run(nft_text); !loaded) {
      out.emplace(Error{loaded.error().kind, "the compiled ruleset does not load: " + loaded.error().message});
      return;
    }
    out.emplace(read_current(fmt::format("list table {} {}", nft::kFamily, nft::kTable)));
  });
  if (st) return *st;
  PM_ASSERT(out.has_value(), "the private namespace ran nothing");
  return std::move(*out);
}

namespace {

bool ours(const std::string& family, const std::string& table) { return family == nft::kFamily && table == nft::kTable; }

std::string rule_text(const NftRule& r) { return r.text.empty() ? r.expr.dump() : r.text; }

std::string chain_header(const NftChain& c) {
  if (!c.base()) return "regular chain";
  return fmt::format("type {} hook {} priority {}; policy {};", c.type, c.hook, c.priority, c.policy.empty() ? "accept" : c.policy);
}

// "198.51.100.0/28, 198.51.100.64/26" from a set's elements.
std::string elements_text(const json& body) {
  std::string s;
  for (const auto& e : body.value("elem", json::array())) {
    if (!s.empty()) s += ", ";
    if (e.is_string()) s += e.get<std::string>();
    else if (e.is_object() && e.contains("prefix"))
      s += fmt::format("{}/{}", e["prefix"].value("addr", "?"), e["prefix"].value("len", 0));
    else if (e.is_object() && e.contains("range") && e["range"].is_array() && e["range"].size() == 2)
      s += fmt::format("{}-{}", e["range"][0].dump(), e["range"][1].dump());
    else s += e.dump();
  }
  return "{ " + s + " }";
}

std::string what_rule(const NftRule& r) {
  return r.comment.empty() ? std::string("rule") : fmt::format("rule \"{}\"", r.comment);
}

Difference diff(DiffKind kind, std::string chain, std::string row, std::string expected, std::string found, std::string message,
                const NftRule* live_rule = nullptr, const NftRule* expected_rule = nullptr) {
  Difference d;
  d.kind = kind;
  d.chain = std::move(chain);
  d.row = std::move(row);
  d.expected = std::move(expected);
  d.found = std::move(found);
  d.message = std::move(message);
  d.live_rule = live_rule;
  d.expected_rule = expected_rule;
  return d;
}

void compare_rules(const std::string& chain, const std::vector<const NftRule*>& exp, const std::vector<const NftRule*>& live,
                   std::vector<Difference>& out) {
  auto key = [](const NftRule* r) { return json{{"comment", r->comment}, {"expr", r->expr}}.dump(); };
  std::vector<bool> used(exp.size(), false);
  std::vector<int> match(live.size(), -1);
  for (std::size_t i = 0; i < live.size(); ++i) {
    const std::string k = key(live[i]);
    for (std::size_t j = 0; j < exp.size(); ++j)
      if (!used[j] && key(exp[j]) == k) {
        used[j] = true;
        match[i] = static_cast<int>(j);
        break;
      }
  }
  std::vector<const NftRule*> missing, extra;
  for (std::size_t j = 0; j < exp.size(); ++j)
    if (!used[j]) missing.push_back(exp[j]);
  for (std::size_t i = 0; i < live.size(); ++i)
    if (match[i] < 0) extra.push_back(live[i]);
  // A missing and an extra rule of the same row are one changed rule.
  for (const NftRule* m : missing) {
    auto it = std::find_if(extra.begin(), extra.end(), [&](const NftRule* x) { return x && x->comment == m->comment; });
    if (it != extra.end()) {
      out.push_back(diff(DiffKind::rule_changed, chain, m->comment, rule_text(*m), rule_text(**it),
                     fmt::format("chain {}: {} differs: compiled `{}`, loaded `{}`", chain, what_rule(*m), rule_text(*m),
                                 rule_text(**it)),
                     *it, m));
      *it = nullptr;
    } else {
      out.push_back(diff(DiffKind::rule_missing, chain, m->comment, rule_text(*m), "",
                     fmt::format("chain {}: {} is missing: `{}`", chain, what_rule(*m), rule_text(*m)), nullptr, m));
    }
  }
  for (const NftRule* x : extra)
    if (x)
      out.push_back(diff(DiffKind::rule_extra, chain, x->comment, "", rule_text(*x),
                     fmt::format("chain {}: extra {} not in the compiled ruleset: `{}`", chain, what_rule(*x), rule_text(*x)), x));
  // First match wins, so the order of the rules both sides have matters too.
  int prev = -1;
  const NftRule* prev_rule = nullptr;
  for (std::size_t i = 0; i < live.size(); ++i) {
    if (match[i] < 0) continue;
    if (match[i] < prev) {
      out.push_back(diff(DiffKind::rule_order, chain, live[i]->comment, "", rule_text(*live[i]),
                     fmt::format("chain {}: the rules are in another order than compiled: `{}` comes after `{}`", chain,
                                 rule_text(*live[i]), rule_text(*prev_rule)),
                     live[i]));
      break;
    }
    prev = match[i];
    prev_rule = live[i];
  }
}

void scan_verdicts(const json& j, Verdicts& v) {
  if (j.is_array()) {
    for (const auto& x : j) scan_verdicts(x, v);
  } else if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (key == "drop" || key == "reject" || key == "queue") v.drop = true;
      else if (key == "accept") v.accept = true;
      else if ((key == "jump" || key == "goto") && value.is_object()) v.jumps.push_back(value.value("target", ""));
      else if (key == "xt" && value.is_object() && value.value("type", "") == "target") {
        // iptables-nft targets nft cannot express natively.
        const std::string name = value.value("name", "");
        if (name == "REJECT" || name == "DROP" || name == "NFQUEUE") v.drop = true;
        if (name == "ACCEPT") v.accept = true;
      }
      scan_verdicts(value, v);
    }
  }
}

}  // namespace

Verdicts verdicts_of(const NftRule& rule) {
  Verdicts v;
  scan_verdicts(rule.expr, v);
  return v;
}

namespace {

ForeignChain analyse_foreign(const NftChain& base, const NftRuleset& live, bool our_table_on) {
  ForeignChain fc;
  fc.chain = base;
  if (const NftTable* t = live.find_table(base.family, base.table)) fc.dormant = t->dormant;
  std::set<std::string> seen{base.name};
  std::vector<std::string> todo{base.name};
  while (!todo.empty()) {
    std::string name = todo.back();
    todo.pop_back();
    for (const auto& r : live.rules) {
      if (r.family != base.family || r.table != base.table || r.chain != name) continue;
      ++fc.rules;
      const Verdicts v = verdicts_of(r);
      if (v.drop) {
        fc.drops = true;
        fc.dropping.push_back(&r);
      }
      fc.accepts |= v.accept;
      for (const auto& target : v.jumps)
        if (seen.insert(target).second) todo.push_back(target);
    }
  }
  if (base.policy == "drop") fc.drops = true;
  const std::string where = fmt::format("table {} {} chain {} (hook {}, priority {})", base.family, base.table, base.name,
                                        base.hook, base.priority);
  const std::string order = !our_table_on ? ""
                            : base.priority < 0 ? fmt::format(", before portmatrix's {} chain (priority 0)", base.hook)
                            : base.priority > 0 ? fmt::format(", after portmatrix's {} chain (priority 0)", base.hook)
                                                : fmt::format(", at the same priority as portmatrix's {} chain (order between them not defined)",
                                                              base.hook);
  if (fc.dormant) {
    fc.consequence = fmt::format("{} is in a dormant table: it filters nothing", where);
  } else if (fc.drops) {
    fc.consequence = fmt::format(
        "{} can drop packets{}{}. Every base chain on a hook runs and a drop in any of them is final, so it can block "
        "connections the policy allows, whatever portmatrix accepts",
        where, base.policy == "drop" ? " (policy drop: whatever its own rules do not accept)" : "", order);
  } else if (fc.accepts) {
    fc.consequence = our_table_on
                         ? fmt::format("{} accepts packets{}. An accept ends only its own chain: portmatrix's {} chain still runs "
                                       "and decides, so these accepts open nothing the policy drops",
                                       where, order, base.hook)
                         : fmt::format("{} accepts packets; with the firewall off nothing else filters on this hook", where);
  } else {
    fc.consequence = fmt::format("{} has no rules and policy accept: it filters nothing", where);
  }
  return fc;
}

}  // namespace

Comparison compare(const NftRuleset& expected, const NftRuleset& live) {
  Comparison c;
  const NftTable* lt = live.find_table(nft::kFamily, nft::kTable);
  c.table_present = lt != nullptr;
  c.dormant = lt && lt->dormant;
  const std::string family(nft::kFamily), table(nft::kTable);
  if (lt) {
    if (lt->dormant)
      c.differences.push_back(diff(DiffKind::table_dormant, "", "", "", "flags dormant",
                               "table inet portmatrix is dormant (flags dormant): loaded but filtering nothing, so by default "
                               "every port is open",
                               nullptr));
    auto chains_of = [&](const NftRuleset& rs) {
      std::map<std::string, const NftChain*> m;
      for (const auto& ch : rs.chains)
        if (ours(ch.family, ch.table)) m[ch.name] = &ch;
      return m;
    };
    auto rules_of = [&](const NftRuleset& rs, const std::string& chain) {
      std::vector<const NftRule*> v;
      for (const auto& r : rs.rules)
        if (ours(r.family, r.table) && r.chain == chain) v.push_back(&r);
      return v;
    };
    auto ec = chains_of(expected), lc = chains_of(live);
    for (const auto& [name, e] : ec) {
      auto it = lc.find(name);
      if (it == lc.end()) {
        c.differences.push_back(diff(DiffKind::chain_missing, name, "", chain_header(*e), "",
                                 fmt::format("chain {} is missing ({}), and with it every rule of the policy in it", name,
                                             chain_header(*e)),
                                 nullptr));
        continue;
      }
      const NftChain* l = it->second;
      if (e->type != l->type || e->hook != l->hook || e->priority != l->priority || e->policy != l->policy)
        c.differences.push_back(diff(DiffKind::chain_changed, name, "", chain_header(*e), chain_header(*l),
                                 fmt::format("chain {}: loaded `{}`, compiled `{}`", name, chain_header(*l), chain_header(*e)),
                                 nullptr));
      compare_rules(name, rules_of(expected, name), rules_of(live, name), c.differences);
    }
    for (const auto& [name, l] : lc)
      if (!ec.count(name))
        c.differences.push_back(diff(DiffKind::chain_extra, name, "", "", chain_header(*l),
                                 fmt::format("extra chain {} ({}, {} rules) not in the compiled ruleset", name, chain_header(*l),
                                             rules_of(live, name).size()),
                                 nullptr));
    std::map<std::string, const NftSet*> es, ls;
    for (const auto& s : expected.sets)
      if (ours(s.family, s.table)) es[s.name] = &s;
    for (const auto& s : live.sets)
      if (ours(s.family, s.table)) ls[s.name] = &s;
    for (const auto& [name, e] : es) {
      auto it = ls.find(name);
      if (it == ls.end())
        c.differences.push_back(diff(DiffKind::set_missing, name, "", elements_text(e->body), "",
                                 fmt::format("set {} is missing (compiled elements {})", name, elements_text(e->body)), nullptr));
      else if (it->second->body != e->body)
        c.differences.push_back(diff(DiffKind::set_changed, name, "", elements_text(e->body), elements_text(it->second->body),
                                 fmt::format("set {}: loaded elements {}, compiled {}", name, elements_text(it->second->body),
                                             elements_text(e->body)),
                                 nullptr));
    }
    for (const auto& [name, l] : ls)
      if (!es.count(name))
        c.differences.push_back(diff(DiffKind::set_extra, name, "", "", elements_text(l->body),
                                 fmt::format("extra set {} not in the compiled ruleset: {}", name, elements_text(l->body)), nullptr));
  }
  const bool on = c.table_present && !c.dormant;
  for (const auto& ch : live.chains) {
    if (ours(ch.family, ch.table) || !ch.base()) continue;
    if (ch.family != "inet" && ch.family != "ip" && ch.family != "ip6") continue;
    if (ch.hook != "input" && ch.hook != "output") continue;
    c.foreign.push_back(analyse_foreign(ch, live, on));
  }
  return c;
}

namespace {

// Whether a match's right-hand side contains the port: nullopt when it cannot tell.
std::optional<bool> contains_port(const json& right, const NftRuleset& rs, const NftRule& rule, std::uint16_t port) {
  if (right.is_number_integer()) return right.get<long>() == port;
  if (right.is_string()) {
    const std::string s = right.get<std::string>();
    if (s.size() > 1 && s[0] == '@') {
      const NftSet* set = rs.find_set(rule.family, rule.table, s.substr(1));
      if (!set) return std::nullopt;
      return contains_port(json{{"set", set->body.value("elem", json::array())}}, rs, rule, port);
    }
    return std::nullopt;  // a service name
  }
  if (right.is_object() && right.contains("range") && right["range"].is_array() && right["range"].size() == 2 &&
      right["range"][0].is_number_integer() && right["range"][1].is_number_integer())
    return right["range"][0].get<long>() <= port && port <= right["range"][1].get<long>();
  if (right.is_object() && right.contains("set") && right["set"].is_array()) {
    bool unknown = false;
    for (const auto& e : right["set"]) {
      auto in = contains_port(e, rs, rule, port);
      if (in && *in) return true;
      unknown |= !in;
    }
    if (unknown) return std::nullopt;
    return false;
  }
  return std::nullopt;
}

// Whether a protocol match's right-hand side names the protocol.
std::optional<bool> names_protocol(const json& right, Protocol protocol) {
  const std::string want(to_string(protocol));
  if (right.is_string()) return right.get<std::string>() == want;
  if (right.is_number_integer()) return right.get<int>() == static_cast<int>(protocol);
  if (right.is_object() && right.contains("set") && right["set"].is_array()) {
    for (const auto& e : right["set"])
      if (names_protocol(e, protocol).value_or(true)) return true;
    return false;
  }
  return std::nullopt;
}

}  // namespace

bool may_match_port(const NftRule& rule, const NftRuleset& rs, Protocol protocol, std::uint16_t port) {
  for (const auto& e : rule.expr) {
    if (!e.is_object() || !e.contains("match")) continue;
    const json& m = e["match"];
    const std::string op = m.value("op", "==");
    const bool positive = op == "==" || op == "in";
    if (!positive && op != "!=") continue;
    const json& left = m.value("left", json::object());
    const json& right = m.value("right", json());
    std::optional<bool> hit;
    if (left.contains("payload") && left["payload"].is_object()) {
      const std::string proto = left["payload"].value("protocol", "");
      const std::string field = left["payload"].value("field", "");
      if ((proto == "tcp" || proto == "udp") && proto != to_string(protocol)) return false;  // only matches the other protocol
      if ((proto == "tcp" || proto == "udp" || proto == "th") && field == "dport") hit = contains_port(right, rs, rule, port);
    } else if (left.contains("meta") && left["meta"].is_object() && left["meta"].value("key", "") == "l4proto") {
      hit = names_protocol(right, protocol);
    }
    if (hit && *hit != positive) return false;
  }
  return true;
}

}  // namespace portmatrix::drift
