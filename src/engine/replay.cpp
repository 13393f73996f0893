#include "portmatrix/replay.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/hash.hpp"
#include "engine/timeutil.hpp"
#include "portmatrix/evaluate.hpp"
#include "portmatrix/fileio.hpp"
#include "portmatrix/lint.hpp"

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

const std::string& AddressNames::operator()(const IpAddr& a) {
  Slot& s = slots_[hash_addr(static_cast<std::uint64_t>(a.family), a) & (kSlots - 1)];
  if (!s.used || !(s.addr == a)) {
    s.used = true;
    s.addr = a;
    s.name = address_name(*policy_, a);
  }
  return s.name;
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

// judge() with the names of both ends already known.
ReplayedConnection judge_named(const Policy& p, const Connection& c, std::string src_system, std::string dst_system) {
  ReplayedConnection r;
  r.connection = &c;
  r.src_system = std::move(src_system);
  r.dst_system = std::move(dst_system);
  // Neither end is the host: not-host, and nothing to evaluate.
  if (!is_host_address(p, c.src) && !is_host_address(p, c.dst)) return r;
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

}  // namespace

PortSet inference_service_ports(const Policy& p) {
  const std::uint32_t wide = LintOptions{}.wide_range;
  PortSet ports;
  for (const auto& row : p.rows)
    if (row.dport.count() <= wide) ports.add(row.dport);
  return ports;
}

ReplayedConnection judge(const Policy& p, const Connection& c) {
  return judge_named(p, c, address_name(p, c.src), address_name(p, c.dst));
}

ReplayedConnection judge(const Policy& p, const Connection& c, AddressNames& names) {
  return judge_named(p, c, names(c.src), names(c.dst));
}

namespace {

// Opens every capture that can be read twice (not standard input, a pipe or a
// device) and reads its file header: a missing or malformed capture is an error
// before the first connection of an earlier one is reported.
Status check_captures(const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    struct stat st {};
    if (path == "-" || (::stat(path.c_str(), &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode))))
      continue;
    // The smallest buffer: only the header is read.
    if (auto reader = CaptureReader::open(path, CaptureOptions{.buffer_size = 0}); !reader) return reader.error();
  }
  return std::nullopt;
}

}  // namespace

Expected<ReplayResult> replay_captures(const Policy& p, const std::vector<std::string>& paths, const ReplayOptions& options) {
  if (auto err = check_captures(paths)) return *err;
  ReplayResult res;
  std::map<std::tuple<std::string, std::string, std::string, std::uint16_t>, BlockedGroup> groups;
  EngineOptions eo = options.engine;
  // The policy's destination ports tell servers from clients when a capture starts mid-connection.
  eo.conntrack.service_ports = inference_service_ports(p);
  AddressNames names(p);
  auto sink = [&](const Connection& c) {
    ReplayedConnection r = judge(p, c, names);
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
  const SplitNs split = split_ns(ns);
  std::time_t t = static_cast<std::time_t>(split.seconds);
  // Connections end close together in time: the calendar part is remembered
  // for the last second asked about.
  thread_local std::time_t last_t = 0;
  thread_local std::string last_text;
  if (last_text.empty() || t != last_t) {
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    last_text.assign(buf, n);
    last_t = t;
  }
  std::int64_t us = split.nanos / 1000;
  std::string out;
  out.reserve(last_text.size() + 8);
  out += last_text;
  char frac[8] = {'.', '0', '0', '0', '0', '0', '0', 'Z'};
  for (int i = 6; i >= 1 && us > 0; --i, us /= 10) frac[i] = static_cast<char>('0' + us % 10);
  out.append(frac, sizeof frac);
  return out;
}

namespace {

// The columns of replay's text table: width, right-aligned, and the spaces after.
struct TextColumn {
  std::size_t width;
  bool right;
  std::string_view gap;
};
constexpr std::array<TextColumn, 11> kTextColumns{{{6, false, " "},
                                                   {39, false, " "},
                                                   {5, true, "  "},
                                                   {39, false, " "},
                                                   {5, true, "  "},
                                                   {8, false, " "},
                                                   {8, false, " "},
                                                   {16, false, " "},
                                                   {8, true, " "},
                                                   {10, true, "  "},
                                                   {0, false, "\n"}}};

void append_text_row(std::string& out, const std::array<std::string_view, kTextColumns.size()>& cells) {
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const TextColumn& col = kTextColumns[i];
    std::size_t pad = cells[i].size() < col.width ? col.width - cells[i].size() : 0;
    if (col.right) out.append(pad, ' ');
    out += cells[i];
    if (!col.right) out.append(pad, ' ');
    out += col.gap;
  }
}

// Decimal digits of v in buf (at least 20 bytes), as a view.
std::string_view decimal(char* buf, std::uint64_t v) {
  auto r = std::to_chars(buf, buf + 20, v);
  return {buf, static_cast<std::size_t>(r.ptr - buf)};
}

// The text table's protocol column: proto_name() without the number of other protocols.
std::string_view text_proto(std::uint8_t p) {
  if (auto known = protocol_of(p)) return to_string(*known);
  return "ip";
}

}  // namespace

std::string replay_text_header() {
  std::string out;
  append_text_row(out, {"PROTO", "SRC", "SPORT", "DST", "DPORT", "INIT", "VERDICT", "ROW", "PACKETS", "BYTES", "FIRST"});
  return out;
}

void append_replay_text(std::string& out, const ReplayedConnection& r) {
  const Connection& c = *r.connection;
  char sport[20], dport[20], packets[20], bytes[20];
  std::string src = c.src.to_string(), dst = c.dst.to_string(), first = iso_time_ns(c.first_ns);
  append_text_row(out, {text_proto(c.proto), src, decimal(sport, c.sport), dst, decimal(dport, c.dport),
                        to_string(c.initiator), to_string(r.verdict), r.row.empty() ? std::string_view("-") : r.row,
                        decimal(packets, c.packets[0] + c.packets[1]), decimal(bytes, c.bytes[0] + c.bytes[1]), first});
}

namespace {

// A JSON string: text of plain printable ASCII as it is, anything else escaped by nlohmann::json.
void append_json_string(std::string& out, std::string_view s) {
  bool plain = std::all_of(s.begin(), s.end(), [](char ch) { return ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\'; });
  if (!plain) {
    out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

// The separator and key of a field after the first.
void append_json_key(std::string& out, std::string_view key) {
  out += std::string_view(",\"");
  out += key;
  out += std::string_view("\":");
}

void append_json_field(std::string& out, std::string_view key, std::string_view text) {
  append_json_key(out, key);
  append_json_string(out, text);
}

void append_json_field(std::string& out, std::string_view key, std::uint64_t v) {
  char buf[20];
  append_json_key(out, key);
  out += decimal(buf, v);
}

}  // namespace

// Written field by field (nlohmann::json built an object per connection: a
// third of a replay's time); the same text its dump() gave.
std::string replay_connection_json(const ReplayedConnection& r) {
  const Connection& c = *r.connection;
  std::string out;
  out.reserve(384);
  out += std::string_view("{\"proto\":");
  append_json_string(out, proto_name(c.proto));
  append_json_field(out, "src", c.src.to_string());
  append_json_field(out, "sport", c.sport);
  append_json_field(out, "dst", c.dst.to_string());
  append_json_field(out, "dport", c.dport);
  append_json_field(out, "initiator", to_string(c.initiator));
  append_json_field(out, "verdict", to_string(r.verdict));
  if (r.row.empty()) {
    append_json_key(out, "row");
    out += std::string_view("null");
  } else {
    append_json_field(out, "row", r.row);
  }
  append_json_field(out, "src_system", r.src_system);
  append_json_field(out, "dst_system", r.dst_system);
  append_json_field(out, "packets", c.packets[0] + c.packets[1]);
  append_json_field(out, "bytes", c.bytes[0] + c.bytes[1]);
  append_json_field(out, "first", iso_time_ns(c.first_ns));
  append_json_field(out, "last", iso_time_ns(c.last_ns));
  out += '}';
  return out;
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
  return json_text(out);
}

}  // namespace portmatrix
