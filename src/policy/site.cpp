#include "portmatrix/site.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "io/yaml_util.hpp"
#include "portmatrix/bundled.hpp"
#include "portmatrix/fileio.hpp"

namespace portmatrix {

namespace {

using yamlio::display;

const std::set<std::string, std::less<>> kSiteKeys = {"portmatrix-site", "matrix", "host",  "ephemeral", "systems",
                                                      "interfaces",      "flows",  "logging", "default", "echo"};
const std::set<std::string, std::less<>> kFlowKeys = {"enabled", "source_ports", "destination_ports", "protocols"};
const std::set<std::string, std::less<>> kLoggingKeys = {"dropped", "rate", "prefix"};

bool valid_ifname(const std::string& s) {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9._-]{0,14}");
  return std::regex_match(s, re);
}

class SiteReader {
 public:
  SiteReader(std::string_view file, Diagnostics& d) : r_(file, d) {}

  std::optional<Site> read(std::string_view text) {
    auto doc = r_.load(text);
    if (!doc) return std::nullopt;
    const YAML::Node& root = *doc;
    if (!r_.check_map(root, "site", kSiteKeys, {"portmatrix-site", "host"})) return std::nullopt;
    Site s;
    s.file = r_.file();
    if (auto v = root["portmatrix-site"]) {
      auto n = r_.integer(v, "portmatrix-site");
      if (n && *n != 1) r_.error(v, fmt::format("unsupported site format version {} (this portmatrix reads version 1)", *n));
    }
    if (auto v = root["matrix"]) {
      s.matrix = r_.string(v, "matrix").value_or("");
      s.matrix_loc = r_.loc(v);
    }
    if (auto v = root["host"]) {
      s.host = r_.string(v, "host").value_or("");
      s.host_loc = r_.loc(v);
    }
    if (auto v = root["ephemeral"]) read_ephemeral(v, s);
    s.systems_loc = {r_.file(), 1, 1};
    for (const auto& kv : root)
      if (kv.first.IsScalar() && kv.first.Scalar() == "systems") s.systems_loc = r_.loc(kv.first);
    if (auto v = root["systems"]) read_systems(v, s);
    if (auto v = root["interfaces"]) read_interfaces(v, s);
    if (auto v = root["flows"]) read_flows(v, s);
    if (auto v = root["logging"]) read_logging(v, s);
    if (auto v = root["default"]) {
      auto d = r_.string(v, "default");
      if (d == "drop") s.default_action = Action::drop;
      else if (d == "reject") s.default_action = Action::reject;
      else if (d) r_.error(v, fmt::format("'default' must be drop or reject, found '{}'", *d));
    }
    if (auto v = root["echo"]) s.allow_echo = r_.boolean(v, "echo").value_or(false);
    return s;
  }

 private:
  void read_ephemeral(const YAML::Node& v, Site& s) {
    auto text = r_.string(v, "ephemeral");
    if (!text) return;
    if (*text == "any") {
      s.ephemeral = {0, 65535};
      return;
    }
    std::string err;
    auto ps = parse_port_list(*text, &err);
    if (!ps || ps->ranges().size() != 1) {
      r_.error(v, fmt::format("'ephemeral' must be one range LOW-HIGH (e.g. 32768-60999){}", err.empty() ? "" : ": " + err));
      return;
    }
    s.ephemeral = ps->ranges()[0];
  }

  void read_systems(const YAML::Node& v, Site& s) {
    if (!v.IsMap()) {
      r_.error(v, fmt::format("'systems' must map system names to address lists, found {}", display(v)));
      return;
    }
    // Keys are unique: Reader::load has checked every mapping.
    for (const auto& kv : v) {
      SiteSystem sys;
      sys.name = kv.first.IsScalar() ? kv.first.Scalar() : "";
      sys.loc = r_.loc(kv.first);
      const YAML::Node& addrs = kv.second;
      if (addrs.IsScalar() && addrs.Scalar() == "any") {
        sys.addresses = AddrSet::any();
      } else if (addrs.IsSequence()) {
        for (const auto& a : addrs) {
          if (!a.IsScalar()) {
            r_.error(a, fmt::format("addresses of '{}' must be IP addresses or prefixes, found {}", sys.name, display(a)));
            continue;
          }
          if (a.Scalar() == "any") {
            r_.error(a, fmt::format("'any' stands alone: write '{}: any' without a list", sys.name));
            continue;
          }
          std::string err;
          auto p = parse_prefix(a.Scalar(), &err);
          if (!p) r_.error(a, fmt::format("system '{}': {}", sys.name, err));
          else sys.addresses.add(*p);
        }
      } else if (addrs.IsScalar()) {
        std::string err;
        auto p = parse_prefix(addrs.Scalar(), &err);
        if (!p) r_.error(addrs, fmt::format("system '{}': {} (write a list, or 'any')", sys.name, err));
        else sys.addresses.add(*p);
      } else {
        r_.error(addrs, fmt::format("addresses of '{}' must be a list of addresses or 'any', found {}", sys.name, display(addrs)));
      }
      s.systems.push_back(std::move(sys));
    }
  }

  void read_interfaces(const YAML::Node& v, Site& s) {
    if (!v.IsMap()) {
      r_.error(v, fmt::format("'interfaces' must map interface names to system lists, found {}", display(v)));
      return;
    }
    for (const auto& kv : v) {
      SiteInterface i;
      i.name = kv.first.IsScalar() ? kv.first.Scalar() : "";
      i.loc = r_.loc(kv.first);
      if (!valid_ifname(i.name))
        r_.error(kv.first, fmt::format("'{}' is not a valid interface name (letters, digits, '.', '_', '-'; at most 15)", i.name));
      if (i.name == "lo") r_.error(kv.first, "the loopback interface is handled by the policy itself; do not list it");
      if (auto list = r_.string_list(kv.second, i.name)) i.systems = *list;
      s.interfaces.push_back(std::move(i));
    }
  }

  std::optional<PortSet> read_ports(const YAML::Node& v, std::string_view key) {
    PortSet out;
    bool ok = true;
    auto one = [&](const YAML::Node& item) {
      if (!item.IsScalar()) {
        r_.error(item, fmt::format("'{}' items must be ports or ranges, found {}", key, display(item)));
        ok = false;
        return;
      }
      std::string err;
      auto ps = parse_port_list(item.Scalar(), &err);
      if (!ps) {
        r_.error(item, fmt::format("'{}': {}", key, err));
        ok = false;
        return;
      }
      out.add(*ps);
    };
    if (v.IsSequence()) {
      for (const auto& item : v) one(item);
    } else {
      one(v);
    }
    if (!ok) return std::nullopt;
    if (out.empty()) {
      r_.error(v, fmt::format("'{}' must list at least one port (disable the row with 'enabled: false' instead)", key));
      return std::nullopt;
    }
    return out;
  }

  void read_flows(const YAML::Node& v, Site& s) {
    if (!v.IsMap()) {
      r_.error(v, fmt::format("'flows' must map row ids to settings, found {}", display(v)));
      return;
    }
    for (const auto& kv : v) {
      std::string id = kv.first.IsScalar() ? kv.first.Scalar() : "";
      FlowOverride o;
      o.loc = r_.loc(kv.first);
      const YAML::Node& f = kv.second;
      if (r_.check_map(f, fmt::format("flows.{}", id), kFlowKeys)) {
        if (auto e = f["enabled"]) {
          o.enabled = r_.boolean(e, "enabled");
          o.enabled_loc = r_.loc(e);
        }
        if (auto p = f["source_ports"]) {
          o.source_ports = read_ports(p, "source_ports");
          o.source_ports_loc = r_.loc(p);
        }
        if (auto p = f["destination_ports"]) {
          o.destination_ports = read_ports(p, "destination_ports");
          o.destination_ports_loc = r_.loc(p);
        }
        if (auto p = f["protocols"]) {
          o.protocols_loc = r_.loc(p);
          if (auto list = r_.string_list(p, "protocols")) {
            ProtocolSet ps;
            for (const auto& name : *list) {
              if (auto pr = parse_protocol(name)) ps.add(*pr);
              else r_.error(p, fmt::format("unknown protocol '{}' (expected tcp, udp, icmp or icmpv6)", name));
            }
            if (ps.unknown()) r_.error(p, "'protocols' must name at least one protocol");
            else o.protocols = ps;
          }
        }
      }
      s.flows[id] = std::move(o);
    }
  }

  void read_logging(const YAML::Node& v, Site& s) {
    if (!r_.check_map(v, "logging", kLoggingKeys)) return;
    if (auto d = v["dropped"]) s.log_dropped = r_.boolean(d, "dropped").value_or(false);
    if (auto r = v["rate"]) {
      static const std::regex re("[1-9][0-9]{0,8}/(second|minute|hour|day)");
      auto t = r_.string(r, "rate");
      if (t && !std::regex_match(*t, re)) r_.error(r, fmt::format("'rate' must look like 10/minute (per second, minute, hour or day), found '{}'", *t));
      else if (t) s.log_rate = *t;
    }
    if (auto p = v["prefix"]) {
      auto t = r_.string(p, "prefix");
      // Generated configs quote the prefix; characters that could end or escape the quote are refused.
      static const std::regex re("[A-Za-z0-9 _.:=/-]{1,64}");
      if (t && !std::regex_match(*t, re))
        r_.error(p, fmt::format("'prefix' may use letters, digits, space and _ . : = / - (at most 64), found {}", display(p)));
      else if (t) s.log_prefix = *t;
    }
  }

  yamlio::Reader r_;
};

}  // namespace

const SiteSystem* Site::find_system(std::string_view system) const {
  for (const auto& s : systems)
    if (s.name == system) return &s;
  return nullptr;
}

Parsed<Site> read_site_yaml(std::string_view text, std::string_view file) {
  Parsed<Site> out;
  SiteReader reader(file, out.diags);
  auto s = reader.read(text);
  if (s && !out.diags.has_errors()) out.value = std::move(s);
  return out;
}

Parsed<Site> load_site(std::string_view name_or_path) {
  std::string arg(name_or_path);
  // As for matrices (load_matrix): a bundled name wins over a file in the current directory.
  if (auto text = bundled::find("examples", arg); !text.empty())
    return read_site_yaml(text, fmt::format("{} (bundled)", arg));
  if (arg.find('/') == std::string::npos && !is_regular_file(arg)) {
    Parsed<Site> out;
    out.diags.error({}, fmt::format("'{}' is neither a file nor a bundled example site", arg));
    return out;
  }
  auto text = read_file(arg);
  if (!text) {
    Parsed<Site> out;
    out.diags.error({}, text.error().message);
    return out;
  }
  return read_site_yaml(*text, arg);
}

std::string default_site_for(std::string_view matrix) {
  if (matrix == "cms-r20") return "cms-site";
  return "";
}

bool row_enabled(const Flow& f, const Site& s) {
  auto it = s.flows.find(f.id);
  if (it != s.flows.end() && it->second.enabled) return *it->second.enabled;
  return !f.addon;
}

}  // namespace portmatrix

#include "portmatrix/matrix_io.hpp"

namespace portmatrix {

Parsed<LoadedPolicy> load_policy(std::string_view matrix_arg, std::string_view site_arg) {
  Parsed<LoadedPolicy> out;
  std::string matrix(matrix_arg), site(site_arg);
  if (site.empty()) {
    site = default_site_for(matrix.empty() ? "cms-r20" : matrix);
    if (site.empty()) {
      out.diags.error({}, fmt::format("matrix '{}' has no bundled example site: give one with --site", matrix));
      return out;
    }
  }
  auto s = load_site(site);
  out.diags.append(s.diags);
  if (!s) return out;
  if (matrix.empty()) {
    matrix = s.value->matrix.empty() ? "cms-r20" : s.value->matrix;
    // A path in the site file is relative to the site file; a bare name is a
    // bundled matrix when there is one of that name (as in load_matrix).
    auto slash = site.rfind('/');
    const bool bundled_name = !bundled::find("matrices", matrix).empty();
    if (!bundled_name && matrix[0] != '/' && slash != std::string::npos) matrix = site.substr(0, slash + 1) + matrix;
  }
  const bool from_site = matrix_arg.empty();
  auto m = load_matrix(matrix);
  if (from_site && !m) {
    // A matrix that cannot be found or read is the site's 'matrix:' line's problem.
    Diagnostics located;
    for (auto d : m.diags.items()) {
      if (d.loc.file.empty()) d.loc = s.value->matrix_loc.file.empty() ? SourceLoc{s.value->file, 1, 1} : s.value->matrix_loc;
      located.add(std::move(d));
    }
    m.diags = std::move(located);
  }
  out.diags.append(m.diags);
  if (!m) return out;
  auto p = bind_policy(*m.value, *s.value);
  out.diags.append(p.diags);
  if (!p) return out;
  out.value = LoadedPolicy{std::move(*m.value), std::move(*s.value), std::move(*p.value)};
  return out;
}

}  // namespace portmatrix
