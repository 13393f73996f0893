#include "portmatrix/fileio.hpp"
#include "portmatrix/lint.hpp"

#include <netdb.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "portmatrix/matrix_io.hpp"

namespace portmatrix {

namespace {

struct Service {
  std::string name;
  std::vector<std::string> aliases;
};

// Looks a port up in the system's services database.
std::optional<Service> service_of(std::uint16_t port, Protocol p) {
  struct servent se {};
  struct servent* res = nullptr;
  std::array<char, 4096> buf{};
  std::string proto(to_string(p));
  if (getservbyport_r(htons(port), proto.c_str(), &se, buf.data(), buf.size(), &res) != 0 || !res) return std::nullopt;
  Service s{res->s_name, {}};
  for (char** a = res->s_aliases; a && *a; ++a) s.aliases.emplace_back(*a);
  return s;
}

std::string squash(std::string_view s) {
  std::string out;
  for (char c : s)
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Services that run over datagrams in practice whatever the registry lists for tcp.
bool datagram_service(std::string_view name) {
  static const std::set<std::string, std::less<>> names = {"snmp", "snmp-trap", "snmptrap", "ntp", "syslog",
                                                           "domain", "tftp", "bootps", "bootpc"};
  return names.count(name) > 0;
}

bool app_matches(const std::string& app, const Service& s) {
  std::string a = squash(app);
  // File transfer and copy protocols that ride on SSH carry its port.
  if ((a == "sftp" || a == "scp") && s.name == "ssh") return true;
  if (a.empty()) return true;
  auto hit = [&](const std::string& n) {
    std::string q = squash(n);
    return !q.empty() && (a.find(q) != std::string::npos || q.find(a) != std::string::npos);
  };
  if (hit(s.name)) return true;
  return std::any_of(s.aliases.begin(), s.aliases.end(), hit);
}

bool overlap(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const auto& x) { return std::find(b.begin(), b.end(), x) != b.end(); });
}

// The same systems, in any order.
bool same_names(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

// A source system whose name says "every address" rather than a system.
bool names_everyone(std::string_view name) {
  static const std::set<std::string, std::less<>> names = {"any", "anywhere", "all", "everyone", "internet", "*",
                                                           "0.0.0.0/0", "::/0", "any host", "any source", "all hosts"};
  std::string l;
  for (char c : name) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return names.count(l) > 0;
}

// The transports a row's firewall rules cover: an unknown (NA) protocol is closed for tcp and udp.
ProtocolSet covered(const Flow& f) { return f.protocols.unknown() ? ProtocolSet{Protocol::tcp, Protocol::udp} : f.protocols; }

// The row keeps its ports shut: closed by default, or closed by the activated firewall.
bool keeps_closed(const Flow& f) { return f.state == PortState::closed || f.when_firewalled == FirewallAction::closed; }

}  // namespace

std::vector<LintFinding> lint_matrix(const Matrix& m, const LintOptions& opt) {
  std::vector<LintFinding> out;
  auto add = [&](std::string code, Severity sev, const Flow* f, std::string msg) {
    out.push_back({std::move(code), sev, f ? f->origin : SourceLoc{}, f ? f->id : "", std::move(msg)});
  };

  std::set<int> referenced;
  for (const auto& f : m.flows) {
    for (int n : f.notes) {
      referenced.insert(n);
      if (!m.find_note(n)) add("missing-note", Severity::warning, &f, fmt::format("refers to note {}, which the matrix does not have", n));
    }
    for (const auto& src : f.sources)
      if (names_everyone(src))
        add("any-source", Severity::warning, &f,
            fmt::format("source '{}' lets every address connect to destination ports {}; name the systems that "
                        "need it, or bind '{}' to their addresses in the site file",
                        src, f.destination_ports.to_string(), src));
    if (f.protocols.unknown())
      add("protocol-unknown", f.when_firewalled == FirewallAction::closed ? Severity::note : Severity::warning, &f,
          f.when_firewalled == FirewallAction::closed
              ? "the matrix does not name a transport protocol (NA); the firewall closes the port for tcp and udp"
              : "the matrix does not name a transport protocol (NA); a site must set 'protocols' before this row can be allowed");
    for (const auto& r : f.source_ports.ports.ranges())
      if (r.lo <= 1023 && !f.symmetric)
        add("well-known-source-port", Severity::warning, &f,
            fmt::format("source port {} is a well-known port; clients normally connect from ephemeral ports, so check the "
                        "initiator really binds it",
                        r.lo == r.hi ? fmt::format("{}", r.lo) : fmt::format("{}-{}", r.lo, std::min<int>(r.hi, 1023))));
    if (f.destination_ports.ports.count() > opt.wide_range) {
      std::string msg = fmt::format("destination ports {} open {} ports", f.destination_ports.ports.to_string(),
                                    f.destination_ports.ports.count());
      if (f.destination_ports.configurable)
        msg += fmt::format("; the ports are configurable, so list the ones actually configured in the site file "
                           "(flows: {{{}: {{destination_ports: [...]}}}})",
                           f.id);
      for (int n : f.notes)
        if (const Note* note = m.find_note(n)) msg += fmt::format("; note {}: {}", n, note->text);
      add("wide-range", Severity::warning, &f, std::move(msg));
    }
    if (opt.services_db) {
      // Single ports only: a range says nothing about one service.
      for (const auto& r : f.destination_ports.ports.ranges()) {
        if (r.size() > 2) continue;
        for (std::uint32_t port = r.lo; port <= r.hi; ++port) {
          for (Protocol p : f.protocols.list()) {
            if (!has_ports(p)) continue;
            Protocol other = p == Protocol::tcp ? Protocol::udp : Protocol::tcp;
            auto mine = service_of(std::uint16_t(port), p);
            auto theirs = service_of(std::uint16_t(port), other);
            if (!mine && theirs && !f.protocols.has(other)) {
              add("iana-protocol", Severity::warning, &f,
                  fmt::format("{}/{} is registered as '{}' on {} only, but the row says {}", port, to_string(other),
                              theirs->name, to_string(other), to_string(p)));
            } else if (mine && p == Protocol::tcp && datagram_service(mine->name) && !f.protocols.has(Protocol::udp)) {
              add("iana-protocol", Severity::warning, &f,
                  fmt::format("{} ({}) is registered for tcp and udp and is sent over udp in practice; the row says tcp "
                              "only: check which one the product uses",
                              port, mine->name));
            } else if (mine && !app_matches(f.application, *mine)) {
              add("iana-name", Severity::note, &f,
                  fmt::format("{}/{} is registered as '{}', the row calls it '{}'", port, to_string(p), mine->name,
                              f.application));
            }
          }
        }
      }
    }
  }
  for (const auto& n : m.notes)
    if (!referenced.count(n.id))
      out.push_back({"unused-note", Severity::note, n.origin, "", fmt::format("note {} is not referred to by any row", n.id)});

  for (std::size_t i = 0; i < m.flows.size(); ++i) {
    for (std::size_t j = i + 1; j < m.flows.size(); ++j) {
      const Flow& a = m.flows[i];
      const Flow& b = m.flows[j];
      // One row keeps a port shut that another opens on the same host.
      for (auto [shut, open] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
        if (!keeps_closed(*shut) || keeps_closed(*open) || !overlap(shut->destinations, open->destinations)) continue;
        const auto shut_protocols = covered(*shut).list();
        const ProtocolSet open_protocols = covered(*open);
        if (std::none_of(shut_protocols.begin(), shut_protocols.end(), [&](Protocol p) { return open_protocols.has(p); }))
          continue;
        const PortSet common = shut->destination_ports.ports.intersect(open->destination_ports.ports);
        if (common.empty()) continue;
        add("closed-port-opened", Severity::warning, &b,
            fmt::format("row '{}' opens destination ports {} that row '{}' keeps {}", open->id, common.to_string(),
                        shut->id,
                        shut->state == PortState::closed ? "closed by default" : "closed when the firewall is on"));
      }
      if (same_names(a.sources, b.sources) && same_names(a.destinations, b.destinations) && a.protocols == b.protocols &&
          a.source_ports == b.source_ports && a.destination_ports == b.destination_ports) {
        add("duplicate-row", Severity::warning, &b, fmt::format("repeats row '{}' (same systems, ports and protocols)", a.id));
        continue;
      }
      const auto a_protocols = a.protocols.list();
      bool proto_overlap = std::any_of(a_protocols.begin(), a_protocols.end(), [&](Protocol p) { return b.protocols.has(p); });
      if (overlap(a.sources, b.sources) && overlap(a.destinations, b.destinations) && proto_overlap &&
          a.destination_ports.ports.overlaps(b.destination_ports.ports))
        add("overlapping-rows", Severity::warning, &b,
            fmt::format("overlaps row '{}': same systems and protocol, destination ports {} in common", a.id,
                        a.destination_ports.ports.intersect(b.destination_ports.ports).to_string()));
    }
  }
  return out;
}

LintResult lint_source(std::string_view name_or_path, const LintOptions& options) {
  LintResult res;
  MatrixReadOptions ro;
  ro.lenient_values = true;
  auto parsed = load_matrix(name_or_path, ro);
  for (const auto& d : parsed.diags.items()) {
    if (d.severity == Severity::error) res.errors.add(d);
    else res.findings.push_back({d.code.empty() ? "read" : d.code, d.severity, d.loc, "", d.message});
  }
  if (!parsed.value) return res;
  auto more = lint_matrix(*parsed.value, options);
  res.findings.insert(res.findings.end(), more.begin(), more.end());
  return res;
}

std::string lint_to_json(const std::vector<LintFinding>& findings) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const auto& f : findings) {
    nlohmann::ordered_json item;
    item["code"] = f.code;
    item["severity"] = std::string(to_string(f.severity));
    item["file"] = f.loc.file;
    item["line"] = f.loc.line;
    item["column"] = f.loc.column;
    item["row"] = f.row.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(f.row);
    item["message"] = f.message;
    j.push_back(std::move(item));
  }
  nlohmann::ordered_json root;
  root["findings"] = j;
  return json_text(root, 2) + "\n";
}

}  // namespace portmatrix
