#include "portmatrix/replay.hpp"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "portmatrix/evaluate.hpp"

namespace portmatrix {

std::string address_name(const Policy& p, const IpAddr& a) {
  if (p.host_addresses.contains(a) || a.is_loopback()) return p.host.empty() ? std::string("localhost") : p.host;
  // A system that is "any" names no address: it would swallow every unknown one.
  if (const SystemBinding* s = p.system_of(a); s && !s->addresses.is_any(a.family)) return s->name;
  Prefix net{a, static_cast<std::uint8_t>(a.family == Family::ipv4 ? 24 : 64)};
  if (a.family == Family::ipv4) net.addr = IpAddr::v4(a.v4_value() & 0xffffff00u);
  else net.addr = IpAddr::v6(a.v6_value() & ~((u128(1) << 64) - 1));
  return net.to_string();
}

std::string_view to_string(ReplayVerdict v) {
  switch (v) {
    case ReplayVerdict::allow: return "allow";
    case ReplayVerdict::block: return "block";
    case ReplayVerdict::not_host: return "not-host";
  }
  return "?";
}

namespace {
std::optional<Protocol> protocol_of(std::uint8_t ipproto) {
  switch (ipproto) {
    case ipproto::tcp: return Protocol::tcp;
    case ipproto::udp: return Protocol::udp;
    case ipproto::icmp: return Protocol::icmp;
    case ipproto::icmpv6: return Protocol::icmpv6;
  }
  return std::nullopt;
}

std::string proto_name(std::uint8_t ipproto) {
  if (auto p = protocol_of(ipproto)) return std::string(to_string(*p));
  return fmt::format("ip-{}", ipproto);
}
}  // namespace

ReplayedConnection judge(const Policy& p, const Connection& c) {
  ReplayedConnection r;
  r.connection = &c;
  r.src_system = address_name(p, c.src);
  r.dst_system = address_name(p, c.dst);
  auto proto = protocol_of(c.proto);
  const bool ports = proto && has_ports(*proto);
  auto pkt = host_packet(p, c.src, ports ? c.sport : 0, c.dst, ports ? c.dport : 0, proto.value_or(Protocol::tcp), c.icmp_type);
  if (!pkt) return r;  // neither end is the host
  r.direction = pkt->direction;
  if (!proto) {
    // No rule names other IP protocols: only the loopback step lets them through.
    r.verdict = pkt->iface == kLoopback ? ReplayVerdict::allow : ReplayVerdict::block;
    r.stage = pkt->iface == kLoopback ? "loopback" : "default";
    return r;
  }
  Verdict v = evaluate(p, *pkt);
  r.verdict = v.action == Action::accept ? ReplayVerdict::allow : ReplayVerdict::block;
  r.row = v.row;
  r.stage = std::string(to_string(v.stage));
  return r;
}

Expected<ReplayResult> replay_captures(const Policy& p, const std::vector<std::string>& paths, const ReplayOptions& options) {
  ReplayResult res;
  std::map<std::tuple<std::string, std::string, std::string, std::uint16_t>, BlockedGroup> groups;
  EngineOptions eo = options.engine;
  // The policy's destination ports tell servers from clients when a capture starts mid-connection.
  for (const auto& row : p.rows) eo.conntrack.service_ports.add(row.dport);
  auto sink = [&](const Connection& c) {
    ReplayedConnection r = judge(p, c);
    auto& s = res.summary;
    ++s.connections;
    s.inferred += c.initiator == InitiatorSource::inferred;
    switch (r.verdict) {
      case ReplayVerdict::allow:
        ++s.allowed;
        ++s.allowed_by_row[r.row.empty() ? "(" + r.stage + ")" : r.row];
        break;
      case ReplayVerdict::not_host: ++s.not_host; break;
      case ReplayVerdict::block: {
        ++s.blocked;
        const bool ports = c.proto == ipproto::tcp || c.proto == ipproto::udp;
        std::uint16_t port = ports ? c.dport : c.icmp_type;
        auto& g = groups[{r.src_system, r.dst_system, proto_name(c.proto), port}];
        g.src_system = r.src_system;
        g.dst_system = r.dst_system;
        g.protocol = proto_name(c.proto);
        g.port = port;
        ++g.connections;
        g.packets += c.packets[0] + c.packets[1];
        g.bytes += c.bytes[0] + c.bytes[1];
        break;
      }
    }
    if (options.on_connection) options.on_connection(r);
  };
  auto rep = track_captures(paths, eo, sink, {}, options.progress);
  if (!rep) return rep.error();
  res.engine = std::move(*rep);
  for (auto& [k, g] : groups) res.summary.blocked_groups.push_back(g);
  std::stable_sort(res.summary.blocked_groups.begin(), res.summary.blocked_groups.end(),
                   [](const BlockedGroup& a, const BlockedGroup& b) { return a.connections > b.connections; });
  return res;
}

std::string iso_time_ns(std::int64_t ns) {
  std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06}Z", buf, (ns % 1'000'000'000) / 1000);
}

std::string replay_connection_json(const ReplayedConnection& r) {
  const Connection& c = *r.connection;
  nlohmann::ordered_json j;
  j["proto"] = proto_name(c.proto);
  j["src"] = c.src.to_string();
  j["sport"] = c.sport;
  j["dst"] = c.dst.to_string();
  j["dport"] = c.dport;
  j["initiator"] = std::string(to_string(c.initiator));
  j["verdict"] = std::string(to_string(r.verdict));
  j["row"] = r.row.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.row);
  j["src_system"] = r.src_system;
  j["dst_system"] = r.dst_system;
  j["packets"] = c.packets[0] + c.packets[1];
  j["bytes"] = c.bytes[0] + c.bytes[1];
  j["first"] = iso_time_ns(c.first_ns);
  j["last"] = iso_time_ns(c.last_ns);
  return j.dump();
}

std::string replay_summary_json(const ReplayResult& r) {
  using J = nlohmann::ordered_json;
  const auto& s = r.summary;
  J summary;
  summary["connections"] = s.connections;
  summary["allowed"] = s.allowed;
  summary["blocked"] = s.blocked;
  summary["not_host"] = s.not_host;
  summary["inferred"] = s.inferred;
  summary["allowed_by_row"] = s.allowed_by_row;
  summary["blocked_groups"] = J::array();
  for (const auto& g : s.blocked_groups)
    summary["blocked_groups"].push_back({{"src_system", g.src_system},
                                         {"dst_system", g.dst_system},
                                         {"proto", g.protocol},
                                         {"port", g.port},
                                         {"connections", g.connections},
                                         {"packets", g.packets},
                                         {"bytes", g.bytes}});
  J anomalies;
  const auto& e = r.engine;
  anomalies["captures"] = J::array();
  for (const auto& c : e.captures) {
    J issues = J::array();
    for (const auto& i : c.stats.issues) issues.push_back({{"offset", i.offset}, {"kind", std::string(to_string(i.kind))}});
    anomalies["captures"].push_back(
        {{"name", c.name}, {"frames", c.stats.frames}, {"issue_count", c.stats.total_issues()}, {"issues", issues}});
  }
  J decode = J::object();
  for (std::size_t k = 1; k < e.decoder.anomalies.size(); ++k)
    if (e.decoder.anomalies[k]) decode[std::string(to_string(static_cast<DecodeAnomaly>(k)))] = e.decoder.anomalies[k];
  anomalies["decode"] = decode;
  anomalies["untracked_packets"] = e.conntrack.untracked;
  anomalies["invalid_tcp_packets"] = e.conntrack.invalid;
  anomalies["evicted_connections"] = e.conntrack.evicted;
  anomalies["icmp_errors_unmatched"] = e.conntrack.icmp_errors_unmatched;
  J out;
  out["summary"] = summary;
  out["anomalies"] = anomalies;
  return out.dump();
}

}  // namespace portmatrix
