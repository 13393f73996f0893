// Readers for the network targets' output (Cisco IOS, Cisco ASA, Juniper SRX set
// commands) into one access-list model, and that model's verdict on a packet.
// Written apart from the backends, from the vendors' syntax: a test renders a
// policy, reads the text back, and compares the model's verdicts with the
// reference evaluator's. Each reader accepts only the statements it knows, so a
// line it cannot account for fails the test.
#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "portmatrix/address.hpp"
#include "portmatrix/model.hpp"
#include "portmatrix/policy.hpp"

namespace pmtest::device {

using portmatrix::Action;
using portmatrix::AddrSet;
using portmatrix::Family;
using portmatrix::IpAddr;
using portmatrix::PortRange;
using portmatrix::PortSet;
using portmatrix::Prefix;
using portmatrix::Protocol;

// One entry of an access list (or one security policy).
struct Ace {
  Action action = Action::drop;
  std::vector<Protocol> protocols;  // empty: every protocol
  AddrSet src = AddrSet::any(), dst = AddrSet::any();
  // Per protocol of the entry, the source and destination ports it matches (full: any).
  std::vector<std::pair<PortSet, PortSet>> ports;  // empty: any ports
  bool established = false;                        // TCP with ACK or RST only
  std::vector<std::uint8_t> icmp_types;            // empty: every type
  std::string line;                                // where it was read, for messages
};

// A packet as a network device sees it.
struct Pkt {
  IpAddr src, dst;
  Protocol protocol = Protocol::tcp;
  std::uint16_t sport = 0, dport = 0;
  std::uint8_t icmp_type = 0;
  bool ack = false;  // TCP: ACK set (a packet after the first)
};

// The lists a device applies: by direction (toward the host or from it) and family.
struct Model {
  std::map<std::pair<bool, Family>, std::vector<Ace>> lists;  // key: (to_host, family)
  std::string error;                                          // the first line that could not be read
  bool ok() const { return error.empty(); }
};

inline bool ace_matches(const Ace& a, const Pkt& p) {
  if (!a.src.contains(p.src) || !a.dst.contains(p.dst)) return false;
  if (!a.protocols.empty()) {
    bool hit = false;
    for (std::size_t i = 0; i < a.protocols.size(); ++i) {
      if (a.protocols[i] != p.protocol) continue;
      if (portmatrix::has_ports(p.protocol) && !a.ports.empty() &&
          !(a.ports[i].first.contains(p.sport) && a.ports[i].second.contains(p.dport)))
        continue;
      hit = true;
    }
    if (!hit) return false;
  }
  if (a.established && !(p.protocol == Protocol::tcp && p.ack)) return false;
  if (!a.icmp_types.empty()) {
    if (p.protocol != Protocol::icmp && p.protocol != Protocol::icmpv6) return false;
    bool hit = false;
    for (auto t : a.icmp_types) hit |= t == p.icmp_type;
    if (!hit) return false;
  }
  return true;
}

// First match wins; a packet no entry matches is dropped (every device's implicit end).
inline Action decide(const Model& m, bool to_host, const Pkt& p, std::string* why = nullptr) {
  auto it = m.lists.find({to_host, p.src.family});
  if (it == m.lists.end()) return Action::drop;
  for (const auto& a : it->second)
    if (ace_matches(a, p)) {
      if (why) *why = a.line;
      return a.action;
    }
  if (why) *why = "(implicit deny)";
  return Action::drop;
}

namespace detail {

inline std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

inline std::optional<std::uint16_t> port_number(const std::string& s) {
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  int v = std::stoi(s);
  if (v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

// "255.255.255.240" (mask) or "0.0.0.15" (wildcard) -> prefix length, if contiguous.
inline std::optional<int> mask_length(const std::string& text, bool wildcard) {
  auto a = portmatrix::parse_ip(text);
  if (!a || a->family != Family::ipv4) return std::nullopt;
  std::uint32_t m = a->v4_value();
  if (wildcard) m = ~m;
  int len = 0;
  while (len < 32 && (m & (0x80000000u >> len))) ++len;
  if (len < 32 && (m << len) != 0) return std::nullopt;
  return len;
}

inline std::optional<Prefix> prefix_of(const std::string& addr, int len) {
  return portmatrix::parse_prefix(addr + "/" + std::to_string(len));
}

// A cursor over a line's words that records the first error.
struct Cursor {
  std::vector<std::string> w;
  std::size_t i = 0;
  std::string* error;
  std::string line;
  bool done() const { return i >= w.size(); }
  const std::string& peek() const {
    static const std::string none;
    return done() ? none : w[i];
  }
  std::string take() { return done() ? std::string() : w[i++]; }
  bool accept(const std::string& s) {
    if (peek() != s) return false;
    ++i;
    return true;
  }
  bool fail(const std::string& what) {
    if (error->empty()) *error = what + " in: " + line;
    return false;
  }
};

// "eq P" or "range A B" into a port set.
inline bool port_operator(Cursor& c, PortSet& out) {
  if (c.accept("eq")) {
    auto p = port_number(c.take());
    if (!p) return c.fail("bad port");
    out = PortSet::single(*p);
    return true;
  }
  if (c.accept("range")) {
    auto a = port_number(c.take()), b = port_number(c.take());
    if (!a || !b || *a > *b) return c.fail("bad port range");
    out = PortSet({{*a, *b}});
    return true;
  }
  return false;
}

}  // namespace detail

// Cisco IOS: object-group network, ip access-list extended, ipv6 access-list.
inline Model read_ios(const std::string& text) {
  using namespace detail;
  Model m;
  std::map<std::string, AddrSet> groups;
  std::map<std::string, std::pair<bool, Family>> acl_keys = {{"portmatrix-to-host", {true, Family::ipv4}},
                                                             {"portmatrix-from-host", {false, Family::ipv4}},
                                                             {"portmatrix-to-host6", {true, Family::ipv6}},
                                                             {"portmatrix-from-host6", {false, Family::ipv6}}};
  std::string group;
  std::vector<Ace>* acl = nullptr;
  Family acl_family = Family::ipv4;
  std::istringstream in(text);
  bool ended = false;
  for (std::string line; std::getline(in, line) && m.ok();) {
    if (line.empty() || line[0] == '!') continue;
    if (ended) return m.error = "text after 'end': " + line, m;
    Cursor c{words(line), 0, &m.error, line};
    const bool indented = line[0] == ' ';
    if (!indented) {
      group.clear();
      acl = nullptr;
      if (line == "end") {
        ended = true;
        continue;
      }
      const auto& w = c.w;
      if ((w.size() == 5 && w[0] == "no" && w[1] == "ip" && w[2] == "access-list" && w[3] == "extended") ||
          (w.size() == 4 && w[0] == "no" && w[1] == "ipv6" && w[2] == "access-list") ||
          (w.size() == 4 && w[0] == "no" && w[1] == "object-group" && w[2] == "network"))
        continue;
      if (w.size() == 3 && w[0] == "object-group" && w[1] == "network") {
        group = w[2];
        groups[group];
        continue;
      }
      const bool v4 = w.size() == 4 && w[0] == "ip" && w[1] == "access-list" && w[2] == "extended";
      const bool v6 = w.size() == 3 && w[0] == "ipv6" && w[1] == "access-list";
      if (v4 || v6) {
        auto it = acl_keys.find(w.back());
        if (it == acl_keys.end() || it->second.second != (v4 ? Family::ipv4 : Family::ipv6)) {
          c.fail("unexpected access list name");
          break;
        }
        acl = &m.lists[it->second];
        acl_family = it->second.second;
        continue;
      }
      c.fail("unknown statement");
      break;
    }
    if (!group.empty()) {
      std::optional<Prefix> p;
      if (c.accept("host")) p = portmatrix::parse_prefix(c.take());
      else if (c.w.size() == 2) {
        auto len = mask_length(c.w[1], false);
        if (len) p = prefix_of(c.w[0], *len);
        c.i = 2;
      }
      if (!p || !c.done()) c.fail("bad object-group member");
      else groups[group].add(*p);
      continue;
    }
    if (!acl) {
      c.fail("indented line outside a block");
      break;
    }
    if (c.accept("remark")) continue;
    Ace a;
    a.line = line;
    const std::string act = c.take();
    if (act != "permit" && act != "deny") {
      c.fail("unknown entry");
      break;
    }
    a.action = act == "permit" ? Action::accept : Action::drop;
    const std::string proto = c.take();
    Protocol pr = Protocol::tcp;
    bool any_proto = false;
    if (proto == "tcp") pr = Protocol::tcp;
    else if (proto == "udp") pr = Protocol::udp;
    else if (proto == "icmp") pr = acl_family == Family::ipv4 ? Protocol::icmp : Protocol::icmpv6;
    else if ((proto == "ip" && acl_family == Family::ipv4) || (proto == "ipv6" && acl_family == Family::ipv6)) any_proto = true;
    else {
      c.fail("unknown protocol");
      break;
    }
    if (!any_proto) a.protocols = {pr};
    auto address = [&](AddrSet& out) {
      out = AddrSet();
      if (c.accept("any")) return out = AddrSet::any_of(acl_family), true;
      if (c.accept("host")) {
        auto p = portmatrix::parse_prefix(c.take());
        if (!p || p->addr.family != acl_family) return c.fail("bad host");
        out.add(*p);
        return true;
      }
      if (c.accept("object-group")) {
        auto it = groups.find(c.take());
        if (it == groups.end() || acl_family != Family::ipv4) return c.fail("unknown object-group");
        out = it->second;
        return true;
      }
      if (acl_family == Family::ipv6) {
        auto p = portmatrix::parse_prefix(c.take());
        if (!p || p->addr.family != Family::ipv6) return c.fail("bad IPv6 prefix");
        out.add(*p);
        return true;
      }
      std::string addr = c.take();
      auto len = mask_length(c.take(), true);
      auto p = len ? prefix_of(addr, *len) : std::nullopt;
      if (!p) return c.fail("bad address and wildcard");
      out.add(*p);
      return true;
    };
    PortSet sport = PortSet::full(), dport = PortSet::full();
    if (!address(a.src)) break;
    if (portmatrix::has_ports(pr) && !any_proto) port_operator(c, sport);
    if (!address(a.dst)) break;
    if (portmatrix::has_ports(pr) && !any_proto) port_operator(c, dport);
    if (!any_proto && portmatrix::has_ports(pr)) a.ports = {{sport, dport}};
    if (pr == Protocol::tcp && !any_proto && c.accept("established")) a.established = true;
    if ((pr == Protocol::icmp || pr == Protocol::icmpv6) && !any_proto && !c.done() && c.peek() != "log") {
      static const std::map<std::string, std::uint8_t> v4 = {
          {"echo-reply", 0}, {"unreachable", 3}, {"echo", 8}, {"time-exceeded", 11}, {"parameter-problem", 12}};
      static const std::map<std::string, std::uint8_t> v6 = {
          {"unreachable", 1},    {"packet-too-big", 2}, {"time-exceeded", 3},        {"parameter-problem", 4},
          {"echo-request", 128}, {"echo-reply", 129},   {"mld-query", 130},           {"mld-report", 131},
          {"mld-reduction", 132}, {"router-solicitation", 133}, {"router-advertisement", 134},
          {"nd-ns", 135},        {"nd-na", 136}};
      const auto& names = acl_family == Family::ipv4 ? v4 : v6;
      const std::string word = c.take();
      // A type is a keyword or its number (0-255).
      if (auto it = names.find(word); it != names.end()) {
        a.icmp_types = {it->second};
      } else if (!word.empty() && word.size() <= 3 && word.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoi(word) <= 255) {
        a.icmp_types = {static_cast<std::uint8_t>(std::stoi(word))};
      } else {
        c.fail("unknown ICMP type");
        break;
      }
    }
    c.accept("log");
    if (!c.done()) {
      c.fail("trailing words");
      break;
    }
    acl->push_back(std::move(a));
  }
  if (m.ok() && !ended) m.error = "no 'end'";
  return m;
}

// Cisco ASA: object-group network/service, access-list ... extended, remarks,
// the ICMP inspection lines.
inline Model read_asa(const std::string& text) {
  using namespace detail;
  Model m;
  struct Service {
    Protocol protocol;
    PortSet ports;
  };
  std::map<std::string, AddrSet> nets;
  std::map<std::string, Service> services;
  std::map<std::string, bool> acl_to_host = {{"portmatrix-to-host", true}, {"portmatrix-from-host", false}};
  std::map<bool, std::vector<Ace>> lists;
  std::string net, svc, policy_block;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line) && m.ok();) {
    if (line.empty() || line[0] == '!') continue;
    Cursor c{words(line), 0, &m.error, line};
    if (line[0] != ' ') {
      net.clear();
      svc.clear();
      policy_block.clear();
    }
    if (line[0] == ' ') {
      if (!net.empty() && c.accept("network-object")) {
        std::optional<Prefix> p;
        if (c.accept("host")) p = portmatrix::parse_prefix(c.take());
        else if (c.w.size() == 3) {
          auto len = mask_length(c.w[2], false);
          if (len) p = prefix_of(c.w[1], *len);
          c.i = 3;
        } else {
          p = portmatrix::parse_prefix(c.take());
          if (p && p->addr.family != Family::ipv6) p.reset();
        }
        if (!p || !c.done()) c.fail("bad network-object");
        else nets[net].add(*p);
      } else if (!svc.empty() && c.accept("port-object")) {
        PortSet ps;
        if (!port_operator(c, ps) || !c.done()) c.fail("bad port-object");
        else services[svc].ports.add(ps);
      } else if (policy_block == "global_policy" &&
                 (line == " class inspection_default" || line == "  inspect icmp" || line == "  inspect icmp error")) {
      } else {
        c.fail("unknown indented line");
      }
      continue;
    }
    if (c.accept("clear") && c.accept("configure") && c.accept("access-list") && acl_to_host.count(c.take()) && c.done()) continue;
    c.i = 0;
    if (c.accept("no") && c.accept("object-group") && (c.accept("network") || c.accept("service")) && !c.take().empty() && c.done())
      continue;
    c.i = 0;
    if (c.accept("policy-map") && c.accept("global_policy") && c.done()) {
      policy_block = "global_policy";
      continue;
    }
    c.i = 0;
    if (c.accept("object-group")) {
      if (c.accept("network") && !c.done()) {
        net = c.take();
        nets[net];
      } else if (c.accept("service") && !c.done()) {
        svc = c.take();
        const std::string p = c.take();
        if (p != "tcp" && p != "udp") c.fail("bad service protocol");
        services[svc] = {p == "tcp" ? Protocol::tcp : Protocol::udp, PortSet()};
      } else {
        c.fail("unknown object-group");
      }
      if (!c.done()) c.fail("trailing words");
      continue;
    }
    if (!c.accept("access-list")) {
      c.fail("unknown statement");
      break;
    }
    auto acl = acl_to_host.find(c.take());
    if (acl == acl_to_host.end()) {
      c.fail("unexpected access list name");
      break;
    }
    if (c.accept("remark")) continue;
    if (!c.accept("extended")) {
      c.fail("not an extended entry");
      break;
    }
    Ace a;
    a.line = line;
    const std::string act = c.take();
    if (act != "permit" && act != "deny") {
      c.fail("unknown action");
      break;
    }
    a.action = act == "permit" ? Action::accept : Action::drop;
    const std::string proto = c.take();
    std::optional<Protocol> pr;
    if (proto == "tcp") pr = Protocol::tcp;
    else if (proto == "udp") pr = Protocol::udp;
    else if (proto == "icmp") pr = Protocol::icmp;
    else if (proto == "icmp6") pr = Protocol::icmpv6;
    else if (proto != "ip") {
      c.fail("unknown protocol");
      break;
    }
    auto address = [&](AddrSet& out) {
      out = AddrSet();
      if (c.accept("any")) return out = AddrSet::any(), true;
      if (c.accept("any4")) return out = AddrSet::any_of(Family::ipv4), true;
      if (c.accept("any6")) return out = AddrSet::any_of(Family::ipv6), true;
      if (c.accept("host")) {
        auto p = portmatrix::parse_prefix(c.take());
        if (!p) return c.fail("bad host");
        out.add(*p);
        return true;
      }
      if (c.accept("object-group")) {
        auto it = nets.find(c.take());
        if (it == nets.end()) return c.fail("unknown network object-group");
        out = it->second;
        return true;
      }
      std::string addr = c.take();
      if (addr.find(':') != std::string::npos) {
        auto p = portmatrix::parse_prefix(addr);
        if (!p) return c.fail("bad IPv6 prefix");
        out.add(*p);
        return true;
      }
      auto len = mask_length(c.take(), false);
      auto p = len ? prefix_of(addr, *len) : std::nullopt;
      if (!p) return c.fail("bad address and mask");
      out.add(*p);
      return true;
    };
    auto ports = [&](PortSet& out) {
      out = PortSet::full();
      if (port_operator(c, out)) return true;
      if (c.peek() == "object-group" && c.i + 1 < c.w.size() && services.count(c.w[c.i + 1])) {
        c.take();
        const Service& s = services[c.take()];
        if (s.protocol != *pr) return c.fail("service object-group of another protocol");
        out = s.ports;
      }
      return true;
    };
    PortSet sport = PortSet::full(), dport = PortSet::full();
    if (!address(a.src)) break;
    if (pr && portmatrix::has_ports(*pr) && !ports(sport)) break;
    if (!address(a.dst)) break;
    if (pr && portmatrix::has_ports(*pr) && !ports(dport)) break;
    if (pr) {
      a.protocols = {*pr};
      // icmp applies to IPv4 only, icmp6 to IPv6 only.
      if (*pr == Protocol::icmp) a.src = a.src.only(Family::ipv4);
      if (*pr == Protocol::icmpv6) a.src = a.src.only(Family::ipv6);
      if (portmatrix::has_ports(*pr)) a.ports = {{sport, dport}};
    }
    if (pr && (*pr == Protocol::icmp || *pr == Protocol::icmpv6) && !c.done() && c.peek() != "log") {
      const std::string t = c.take();
      if (t == "echo") a.icmp_types = {std::uint8_t(*pr == Protocol::icmp ? 8 : 128)};
      else if (t == "echo-reply") a.icmp_types = {std::uint8_t(*pr == Protocol::icmp ? 0 : 129)};
      else {
        c.fail("unknown ICMP type");
        break;
      }
    }
    c.accept("log");
    if (!c.done()) {
      c.fail("trailing words");
      break;
    }
    lists[acl->second].push_back(std::move(a));
  }
  for (bool to_host : {true, false})
    for (Family f : {Family::ipv4, Family::ipv6}) m.lists[{to_host, f}] = lists[to_host];
  return m;
}

// Juniper SRX `set` commands: zones, the global address book, applications and
// security policies between portmatrix-peers and portmatrix-host.
inline Model read_srx(const std::string& text) {
  using namespace detail;
  Model m;
  struct App {
    std::optional<Protocol> protocol;
    PortSet sport = PortSet::full(), dport = PortSet::full();
    std::optional<std::uint8_t> icmp_type;
  };
  struct Pol {
    std::vector<std::string> src, dst, apps;
    std::optional<Action> action;
    std::string line;
  };
  std::map<std::string, Prefix> book;
  std::map<std::string, App> apps;
  std::map<bool, std::vector<std::pair<std::string, Pol>>> pols;
  auto range = [](const std::string& s) -> std::optional<PortSet> {
    auto dash = s.find('-');
    auto a = port_number(s.substr(0, dash)), b = dash == std::string::npos ? a : port_number(s.substr(dash + 1));
    if (!a || !b || *a > *b) return std::nullopt;
    return PortSet({{*a, *b}});
  };
  std::istringstream in(text);
  for (std::string line; std::getline(in, line) && m.ok();) {
    if (line.empty() || line[0] == '#') continue;
    Cursor c{words(line), 0, &m.error, line};
    if (c.accept("set") && c.accept("security") && c.accept("zones") && c.accept("security-zone") &&
        (c.accept("portmatrix-host") || c.accept("portmatrix-peers")) && c.done())
      continue;
    c.i = 0;
    if (c.accept("delete") && c.accept("security") && c.accept("policies") && c.accept("from-zone") && !c.take().empty() &&
        c.accept("to-zone") && !c.take().empty() && c.done())
      continue;
    c.i = 0;
    if (!c.accept("set")) {
      c.fail("unknown statement");
      break;
    }
    if (c.accept("security") && c.accept("address-book") && c.accept("global") && c.accept("address")) {
      std::string name = c.take();
      auto p = portmatrix::parse_prefix(c.take());
      if (!p || !c.done() || book.count(name)) c.fail("bad address-book entry");
      else book.emplace(name, *p);
      continue;
    }
    c.i = 1;
    if (c.accept("applications") && c.accept("application")) {
      App& a = apps[c.take()];
      const std::string key = c.take(), value = c.take();
      if (key == "protocol") {
        if (value == "tcp") a.protocol = Protocol::tcp;
        else if (value == "udp") a.protocol = Protocol::udp;
        else if (value == "icmp") a.protocol = Protocol::icmp;
        else if (value == "icmp6") a.protocol = Protocol::icmpv6;
        else c.fail("unknown protocol");
      } else if (key == "source-port" || key == "destination-port") {
        auto r = range(value);
        if (!r) c.fail("bad port");
        else (key == "source-port" ? a.sport : a.dport) = *r;
      } else if (key == "icmp-type" || key == "icmp6-type") {
        const bool v4 = key == "icmp-type";
        if (value == "echo-request") a.icmp_type = v4 ? 8 : 128;
        else if (value == "echo-reply") a.icmp_type = v4 ? 0 : 129;
        else c.fail("unknown ICMP type");
      } else {
        c.fail("unknown application statement");
      }
      if (!c.done()) c.fail("trailing words");
      continue;
    }
    c.i = 1;
    if (!(c.accept("security") && c.accept("policies") && c.accept("from-zone"))) {
      c.fail("unknown statement");
      break;
    }
    const std::string from = c.take();
    c.accept("to-zone");
    const std::string to = c.take();
    bool to_host;
    if (from == "portmatrix-peers" && to == "portmatrix-host") to_host = true;
    else if (from == "portmatrix-host" && to == "portmatrix-peers") to_host = false;
    else {
      c.fail("unexpected zone pair");
      break;
    }
    if (!c.accept("policy")) {
      c.fail("not a policy");
      break;
    }
    const std::string name = c.take();
    auto& list = pols[to_host];
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& x) { return x.first == name; });
    if (it == list.end()) {
      list.push_back({name, Pol{}});
      it = list.end() - 1;
      it->second.line = name;
    }
    Pol& pol = it->second;
    if (c.accept("description")) {
      // One quoted string of words without quotes or backslashes inside.
      std::string rest = line.substr(line.find(" description ") + 13);
      if (rest.size() < 2 || rest.front() != '"' || rest.back() != '"' ||
          rest.substr(1, rest.size() - 2).find_first_of("\"\\") != std::string::npos)
        c.fail("bad description");
      continue;
    }
    if (c.accept("match")) {
      const std::string what = c.take(), value = c.take();
      if (what == "source-address") pol.src.push_back(value);
      else if (what == "destination-address") pol.dst.push_back(value);
      else if (what == "application") pol.apps.push_back(value);
      else c.fail("unknown match");
    } else if (c.accept("then")) {
      const std::string what = c.take();
      if (what == "permit") pol.action = Action::accept;
      else if (what == "deny") pol.action = Action::drop;
      else if (what == "reject") pol.action = Action::reject;
      else if (what != "log" || c.take() != "session-init") c.fail("unknown action");
    } else {
      c.fail("unknown policy statement");
    }
    if (!c.done()) c.fail("trailing words");
  }
  if (!m.ok()) return m;
  auto addresses = [&](const std::vector<std::string>& names, AddrSet& out) {
    out = AddrSet();
    for (const auto& n : names) {
      if (n == "any") out.add(AddrSet::any());
      else if (n == "any-ipv4") out.add(AddrSet::any_of(Family::ipv4));
      else if (n == "any-ipv6") out.add(AddrSet::any_of(Family::ipv6));
      else if (auto it = book.find(n); it != book.end()) out.add(it->second);
      else return m.error = "unknown address " + n, false;
    }
    return !names.empty() || (m.error = "a policy without addresses", false);
  };
  for (bool to_host : {true, false}) {
    std::vector<Ace> list;
    for (const auto& [name, pol] : pols[to_host]) {
      Ace a;
      a.line = "policy " + name;
      if (!pol.action) return m.error = "policy " + name + " has no action", m;
      a.action = *pol.action;
      if (!addresses(pol.src, a.src) || !addresses(pol.dst, a.dst)) return m;
      if (pol.apps.empty()) return m.error = "policy " + name + " has no application", m;
      // Policies with several applications become one entry per application, in order.
      for (const auto& an : pol.apps) {
        Ace x = a;
        if (an != "any") {
          auto it = apps.find(an);
          if (it == apps.end() || !it->second.protocol) return m.error = "unknown application " + an, m;
          x.protocols = {*it->second.protocol};
          if (portmatrix::has_ports(*it->second.protocol)) x.ports = {{it->second.sport, it->second.dport}};
          if (it->second.icmp_type) x.icmp_types = {*it->second.icmp_type};
          if (*it->second.protocol == Protocol::icmp) x.src = x.src.only(Family::ipv4);
          if (*it->second.protocol == Protocol::icmpv6) x.src = x.src.only(Family::ipv6);
        }
        list.push_back(std::move(x));
      }
    }
    for (Family f : {Family::ipv4, Family::ipv6}) m.lists[{to_host, f}] = list;
  }
  return m;
}

}  // namespace pmtest::device
