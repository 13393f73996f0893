// learn: the matrix a capture shows.
#include <netdb.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>

#include "portmatrix/replay.hpp"

namespace portmatrix {

namespace {

struct Group {
  std::uint64_t connections = 0, inferred = 0, packets = 0, bytes = 0;
  std::int64_t first_ns = 0, last_ns = 0;
  PortSet low_sports;   // source ports below 1024 kept as they are
  bool ephemeral = false;
};

using Key = std::tuple<std::string, std::string, std::uint8_t, std::uint16_t>;

std::string service_name(std::uint16_t port, const char* proto) {
  struct servent se {};
  struct servent* res = nullptr;
  std::array<char, 1024> buf{};
  if (getservbyport_r(htons(port), proto, &se, buf.data(), buf.size(), &res) == 0 && res) return res->s_name;
  return "";
}

std::string id_part(std::string_view s) {
  std::string out;
  for (char c : s) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) out += l;
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "x" : out.substr(0, 40);
}

}  // namespace

Expected<Matrix> learn_matrix(const Policy& p, const std::vector<std::string>& paths, const LearnOptions& options,
                              EngineReport* report) {
  std::map<Key, Group> groups;
  std::map<std::string, std::set<std::string>> seen_addresses;  // system -> addresses (for descriptions)
  EngineOptions eo = options.engine;
  eo.conntrack.service_ports = inference_service_ports(p);
  AddressNames name_of(p);
  auto sink = [&](const Connection& c) {
    const bool ports = c.proto == ipproto::tcp || c.proto == ipproto::udp;
    std::string src = name_of(c.src), dst = name_of(c.dst);
    auto& addrs_src = seen_addresses[src];
    if (addrs_src.size() < 8) addrs_src.insert(c.src.to_string());
    auto& addrs_dst = seen_addresses[dst];
    if (addrs_dst.size() < 8) addrs_dst.insert(c.dst.to_string());
    Group& g = groups[{src, dst, c.proto, ports ? c.dport : c.icmp_type}];
    if (g.connections == 0 || c.first_ns < g.first_ns) g.first_ns = c.first_ns;
    g.last_ns = std::max(g.last_ns, c.last_ns);
    ++g.connections;
    g.inferred += c.initiator == InitiatorSource::inferred;
    g.packets += c.packets[0] + c.packets[1];
    g.bytes += c.bytes[0] + c.bytes[1];
    if (ports) {
      if (c.sport < 1024) g.low_sports.add(PortRange{c.sport, c.sport});
      else g.ephemeral = true;
    }
  };
  auto rep = track_captures(paths, eo, sink, {}, options.progress);
  if (!rep) return rep.error();
  if (report) *report = *rep;

  Matrix m;
  m.name = options.name;
  m.title = fmt::format("Flows observed in {} capture{}", paths.size(), paths.size() == 1 ? "" : "s");
  std::set<std::string> ids;
  for (const auto& [key, g] : groups) {
    const auto& [src, dst, proto, port] = key;
    Flow f;
    f.sources = {src};
    f.destinations = {dst};
    const bool ports = proto == ipproto::tcp || proto == ipproto::udp;
    std::string pname = proto == ipproto::tcp ? "tcp" : proto == ipproto::udp ? "udp" : proto == ipproto::icmp ? "icmp"
                                               : proto == ipproto::icmpv6       ? "icmpv6"
                                                                                : "";
    if (pname.empty()) continue;  // the matrix format names tcp, udp, icmp and icmpv6 only
    f.protocols.add(*parse_protocol(pname));
    if (ports) {
      f.destination_ports.ports = PortSet::single(port);
      f.source_ports.ports = g.low_sports;
      f.source_ports.ephemeral = g.ephemeral;
      f.application = service_name(port, pname.c_str());
    } else {
      f.source_ports.ephemeral = false;
      f.application = fmt::format("{} type {}", pname, port);
    }
    f.state = PortState::open;
    f.when_firewalled = FirewallAction::allow;
    f.description = fmt::format("Observed {} connection{}{}, {} packets, {} bytes, first {}, last {}.", g.connections,
                                g.connections == 1 ? "" : "s",
                                g.inferred ? fmt::format(" ({} with the initiator inferred)", g.inferred) : "", g.packets,
                                g.bytes, iso_time_ns(g.first_ns), iso_time_ns(g.last_ns));
    std::string base = fmt::format("{}-to-{}-{}{}", id_part(src), id_part(dst), pname, ports ? fmt::format("-{}", port) : "");
    std::string id = base;
    for (int n = 2; ids.count(id); ++n) id = fmt::format("{}-{}", base, n);
    ids.insert(id);
    f.id = id;
    m.flows.push_back(std::move(f));
  }
  std::set<std::string> names;
  for (const auto& f : m.flows) {
    names.insert(f.sources.begin(), f.sources.end());
    names.insert(f.destinations.begin(), f.destinations.end());
  }
  for (const auto& n : names) {
    std::string addrs;
    for (const auto& a : seen_addresses[n]) addrs += (addrs.empty() ? "" : ", ") + a;
    bool known = n == p.host || p.find_system(n);
    m.systems.push_back({n, known ? fmt::format("Seen at {}.", addrs) : fmt::format("Not in the site; seen at {}.", addrs), {}});
  }
  return m;
}

}  // namespace portmatrix
