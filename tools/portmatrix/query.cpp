// portmatrix query: what the policy does with one connection, and which row decides.
#include <charconv>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "portmatrix/evaluate.hpp"
#include "portmatrix/fileio.hpp"

namespace pmcli {
namespace {

struct QueryOptions {
  std::string matrix, site, src, dst, proto = "tcp", iface, direction, format;
};

// "192.0.2.1", "192.0.2.1:22", "[2001:db8::1]:22", "2001:db8::1".
bool parse_endpoint(const std::string& text, portmatrix::IpAddr& addr, std::optional<std::uint16_t>& port) {
  std::string host = text, p;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return false;
      p = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    p = text.substr(text.find(':') + 1);
  }
  auto a = portmatrix::parse_ip(host);
  if (!a) return false;
  addr = *a;
  if (!p.empty()) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || ptr != p.data() + p.size() || v > 65535) return false;
    port = static_cast<std::uint16_t>(v);
  }
  return true;
}

int run_query(const QueryOptions& o) {
  portmatrix::IpAddr src, dst;
  std::optional<std::uint16_t> sport, dport;
  if (!parse_endpoint(o.src, src, sport)) {
    std::cerr << fmt::format("portmatrix: error: --src '{}' is not ADDRESS[:PORT] (IPv6 as [ADDRESS]:PORT)\n", o.src);
    return kUsage;
  }
  if (!parse_endpoint(o.dst, dst, dport)) {
    std::cerr << fmt::format("portmatrix: error: --dst '{}' is not ADDRESS[:PORT] (IPv6 as [ADDRESS]:PORT)\n", o.dst);
    return kUsage;
  }
  auto proto = portmatrix::parse_protocol(o.proto);
  if (portmatrix::has_ports(*proto) && !dport) {
    std::cerr << "portmatrix: error: --dst needs a port for tcp and udp\n";
    return kUsage;
  }
  // ICMP goes with IPv4 and ICMPv6 with IPv6: a query that mixes them has no answer that means anything.
  const bool icmp4 = *proto == portmatrix::Protocol::icmp, icmp6 = *proto == portmatrix::Protocol::icmpv6;
  for (const auto& [flag, text, addr] : {std::tuple{"--src", o.src, src}, std::tuple{"--dst", o.dst, dst}}) {
    const bool v4 = addr.family == portmatrix::Family::ipv4;
    if ((icmp4 && !v4) || (icmp6 && v4)) {
      std::cerr << fmt::format("portmatrix: error: --proto {} does not go with {} '{}', an {} address (use --proto {})\n",
                               o.proto, flag, text, v4 ? "IPv4" : "IPv6", v4 ? "icmp" : "icmpv6");
      return kUsage;
    }
  }
  auto lp = load_policy_args(o.matrix, o.site);
  if (!lp) return kUsage;
  const auto& pol = lp->policy;
  // Icmp queries are echo requests.
  std::uint8_t icmp_type = *proto == portmatrix::Protocol::icmp ? 8 : 128;
  auto pkt = portmatrix::host_packet(pol, src, sport.value_or(pol.ephemeral.lo), dst, dport.value_or(0), *proto, icmp_type);
  if (!pkt) return report(pkt.error());
  if (!o.iface.empty()) pkt->iface = o.iface;
  if (o.direction == "in") pkt->direction = portmatrix::Direction::in;
  if (o.direction == "out") pkt->direction = portmatrix::Direction::out;
  auto v = portmatrix::evaluate(pol, *pkt);
  std::string verdict = v.action == portmatrix::Action::accept ? "allow" : std::string(portmatrix::to_string(v.action));
  if (o.format == "json") {
    nlohmann::ordered_json j;
    j["verdict"] = verdict;
    j["row"] = v.row.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v.row);
    j["rule"] = v.rule < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v.rule);
    j["stage"] = std::string(portmatrix::to_string(v.stage));
    j["direction"] = std::string(portmatrix::to_string(pkt->direction));
    j["interface"] = pkt->iface.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(pkt->iface);
    std::cout << portmatrix::json_text(j) << "\n";
  } else {
    std::string why = v.stage == portmatrix::Stage::rule ? fmt::format("row {} (rule {})", v.row, v.rule)
                                                        : std::string(portmatrix::to_string(v.stage));
    // Endpoints as --src and --dst take them: an IPv6 address with a port in brackets.
    auto endpoint = [&](const portmatrix::IpAddr& a, std::uint16_t port) {
      if (!portmatrix::has_ports(*proto)) return a.to_string();
      return a.family == portmatrix::Family::ipv6 ? fmt::format("[{}]:{}", a.to_string(), port)
                                                  : fmt::format("{}:{}", a.to_string(), port);
    };
    std::cout << fmt::format("{} {} {} -> {}{}: {} by {}\n", portmatrix::to_string(pkt->direction), o.proto,
                             endpoint(src, pkt->sport), endpoint(dst, pkt->dport),
                             pkt->iface.empty() ? "" : " via " + pkt->iface, verdict, why);
  }
  return kOk;
}

void setup_query(CLI::App& app) {
  auto o = std::make_shared<QueryOptions>();
  auto* sub = app.add_subcommand("query", "Show what the policy does with one connection, and which row decides");
  add_policy_options(sub, o->matrix, o->site);
  sub->add_option("--src", o->src, "Source ADDRESS[:PORT] (default port: the start of the ephemeral range)")->required();
  sub->add_option("--dst", o->dst, "Destination ADDRESS:PORT")->required();
  sub->add_option("-p,--proto", o->proto, "Protocol")->check(CLI::IsMember({"tcp", "udp", "icmp", "icmpv6"}))->capture_default_str();
  sub->add_option("--iface", o->iface, "Interface the packet uses (default: the site's interface of the peer)");
  sub->add_option("--direction", o->direction, "Override the direction")->check(CLI::IsMember({"in", "out"}));
  add_format_option(sub, o->format, {"text", "json"});
  sub->callback([o] { set_exit(run_query(*o)); });
}

const Registrar register_query(40, setup_query);

}  // namespace
}  // namespace pmcli
