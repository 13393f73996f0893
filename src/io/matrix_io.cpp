#include "portmatrix/matrix_io.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "io/yaml_util.hpp"
#include "portmatrix/bundled.hpp"
#include "portmatrix/fileio.hpp"

namespace portmatrix {

namespace {

using yamlio::display;

const std::set<std::string, std::less<>> kTopKeys = {"portmatrix", "name", "title", "systems", "components", "flows", "notes"};
const std::set<std::string, std::less<>> kSystemKeys = {"name", "description"};
const std::set<std::string, std::less<>> kComponentKeys = {"name", "interfaces", "description"};
const std::set<std::string, std::less<>> kFlowKeys = {
    "id",          "sources", "source_ports", "destinations",    "destination_ports", "protocols", "application",
    "optional",    "state",   "when_firewalled", "addon",        "symmetric",         "notes",     "description"};
const std::set<std::string, std::less<>> kNoteKeys = {"id", "text"};

class MatrixReader {
 public:
  MatrixReader(std::string_view file, Diagnostics& diags, const MatrixReadOptions& opt) : r_(file, diags), opt_(opt) {}

  std::optional<Matrix> read(std::string_view text) {
    auto doc = r_.load(text);
    if (!doc) return std::nullopt;
    const YAML::Node& root = *doc;
    if (!r_.check_map(root, "matrix", kTopKeys, {"portmatrix", "name", "flows"})) return std::nullopt;
    if (auto v = root["portmatrix"]) {
      auto n = r_.integer(v, "portmatrix");
      if (n && *n != 1)
        r_.error(v, fmt::format("unsupported matrix format version {} (this portmatrix reads version 1)", *n));
    }
    Matrix m;
    if (auto v = root["name"]) m.name = r_.string(v, "name").value_or("");
    if (auto v = root["title"]) m.title = r_.prose(v, "title").value_or("");
    if (auto v = root["systems"]) read_list(v, "systems", [&](const YAML::Node& n) { read_system(n, m); });
    if (auto v = root["components"]) read_list(v, "components", [&](const YAML::Node& n) { read_component(n, m); });
    if (auto v = root["flows"]) read_list(v, "flows", [&](const YAML::Node& n) { read_flow(n, m); });
    if (auto v = root["notes"]) read_list(v, "notes", [&](const YAML::Node& n) { read_note(n, m); });
    return m;
  }

 private:
  template <class F>
  void read_list(const YAML::Node& n, std::string_view key, F&& each) {
    if (n.IsNull()) return;
    if (!n.IsSequence()) {
      r_.error(n, fmt::format("'{}' must be a list, found {}", key, display(n)));
      return;
    }
    for (const auto& item : n) each(item);
  }

  void read_system(const YAML::Node& n, Matrix& m) {
    if (!r_.check_map(n, "system", kSystemKeys, {"name"})) return;
    System s;
    s.origin = r_.loc(n);
    if (auto v = n["name"]) s.name = r_.string(v, "name").value_or("");
    if (auto v = n["description"]) s.description = r_.prose(v, "description").value_or("");
    m.systems.push_back(std::move(s));
  }

  void read_component(const YAML::Node& n, Matrix& m) {
    if (!r_.check_map(n, "component", kComponentKeys, {"name"})) return;
    Component c;
    if (auto v = n["name"]) c.name = r_.string(v, "name").value_or("");
    if (auto v = n["interfaces"]) c.interfaces = r_.string_list(v, "interfaces").value_or(std::vector<std::string>{});
    if (auto v = n["description"]) c.description = r_.prose(v, "description").value_or("");
    m.components.push_back(std::move(c));
  }

  void read_note(const YAML::Node& n, Matrix& m) {
    if (!r_.check_map(n, "note", kNoteKeys, {"id", "text"})) return;
    Note note;
    note.origin = r_.loc(n);
    if (auto v = n["id"]) note.id = note_number(v, "id").value_or(0);
    if (auto v = n["text"]) note.text = r_.prose(v, "text").value_or("");
    m.notes.push_back(std::move(note));
  }

  // A note's number: an int, not negative (a cast of anything larger wrapped onto
  // another note). 0 is allowed: import reads "Note 0" in a vendor table as it is.
  std::optional<int> note_number(const YAML::Node& n, std::string_view key) {
    auto v = r_.integer(n, key);
    if (!v) return std::nullopt;
    if (*v < 0 || *v > std::numeric_limits<int>::max()) {
      r_.error(n, fmt::format("'{}': note numbers run from 0 to {}, found {}", key, std::numeric_limits<int>::max(), *v));
      return std::nullopt;
    }
    return static_cast<int>(*v);
  }

  // A value lint treats as a finding: an error normally, a warning with a code when lenient.
  void value_problem(const YAML::Node& n, std::string code, std::string message) {
    Diagnostic d{opt_.lenient_values ? Severity::warning : Severity::error, r_.loc(n), std::move(message), std::move(code)};
    r_.diags().add(std::move(d));
  }

  // One item of a port list: 22, "5001-64500", "ephemeral", "any".
  void read_port_item(const YAML::Node& item, std::string_view key, PortSpec& spec) {
    if (!item.IsScalar()) {
      r_.error(item, fmt::format("'{}' items must be ports, ranges or 'ephemeral', found {}", key, display(item)));
      return;
    }
    std::string s = item.Scalar();
    if (s == "ephemeral") {
      spec.ephemeral = true;
      return;
    }
    if (s == "any") {
      spec.ports.add(PortRange{0, 65535});
      return;
    }
    auto dash = s.find('-');
    auto num = [&](std::string_view t, long long& out) {
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
      return !t.empty() && ec == std::errc() && p == t.data() + t.size();
    };
    long long lo = 0, hi = 0;
    bool ok = dash == std::string::npos ? (num(s, lo) && (hi = lo, true))
                                        : num(std::string_view(s).substr(0, dash), lo) &&
                                              num(std::string_view(s).substr(dash + 1), hi);
    if (!ok) {
      r_.error(item, fmt::format("'{}': '{}' is not a port, a range LOW-HIGH, 'ephemeral' or 'any'", key, s));
      return;
    }
    if (lo < 0 || hi < 0 || lo > 65535 || hi > 65535) {
      value_problem(item, "port-range", fmt::format("'{}': port '{}' is outside 0-65535", key, s));
      return;
    }
    if (lo > hi) {
      value_problem(item, "reversed-range", fmt::format("'{}': reversed port range '{}' (low end first)", key, s));
      return;
    }
    spec.ports.add(PortRange{std::uint16_t(lo), std::uint16_t(hi)});
  }

  PortSpec read_port_spec(const YAML::Node& n, std::string_view key) {
    PortSpec spec;
    const YAML::Node* list = &n;
    YAML::Node ports;
    if (n.IsMap()) {
      if (!r_.check_map(n, key, {"ports", "configurable"}, {"ports"})) return spec;
      if (auto c = n["configurable"]) spec.configurable = r_.boolean(c, "configurable").value_or(false);
      if (!n["ports"]) return spec;  // missing: check_map has reported it (assigning it would throw)
      ports = n["ports"];
      list = &ports;
    }
    if (list->IsSequence()) {
      for (const auto& item : *list) read_port_item(item, key, spec);
    } else if (list->IsScalar()) {
      read_port_item(*list, key, spec);
    } else if (!list->IsNull()) {
      r_.error(*list, fmt::format("'{}' must be a list of ports, found {}", key, display(*list)));
    }
    return spec;
  }

  void read_flow(const YAML::Node& n, Matrix& m) {
    if (!r_.check_map(n, "flow", kFlowKeys, {"id", "sources", "destinations", "destination_ports", "protocols"})) return;
    Flow f;
    f.origin = r_.loc(n);
    f.source_ports.ephemeral = true;  // the usual case when a row does not say
    if (auto v = n["id"]) f.id = r_.string(v, "id").value_or("");
    if (auto v = n["sources"]) f.sources = r_.string_list(v, "sources").value_or(std::vector<std::string>{});
    if (auto v = n["source_ports"]) f.source_ports = read_port_spec(v, "source_ports");
    if (auto v = n["destinations"]) f.destinations = r_.string_list(v, "destinations").value_or(std::vector<std::string>{});
    if (auto v = n["destination_ports"]) f.destination_ports = read_port_spec(v, "destination_ports");
    if (auto v = n["protocols"]) {
      if (!v.IsSequence()) {
        r_.error(v, fmt::format("'protocols' must be a list (empty when the matrix does not say), found {}", display(v)));
      } else {
        for (const auto& item : v) {
          auto p = item.IsScalar() ? parse_protocol(item.Scalar()) : std::nullopt;
          if (!p)
            value_problem(item, "unknown-protocol",
                          fmt::format("unknown protocol {} (expected tcp, udp, icmp or icmpv6)", display(item)));
          else
            f.protocols.add(*p);
        }
      }
    }
    if (auto v = n["application"]) f.application = r_.prose(v, "application").value_or("");
    if (auto v = n["optional"]) f.optional = r_.boolean(v, "optional").value_or(false);
    if (auto v = n["state"]) {
      auto s = r_.string(v, "state");
      if (s && !parse_port_state(*s)) r_.error(v, fmt::format("'state' must be open, closed or filtered, found '{}'", *s));
      else if (s) f.state = *parse_port_state(*s);
    }
    if (auto v = n["when_firewalled"]) {
      auto s = r_.string(v, "when_firewalled");
      if (s && !parse_firewall_action(*s))
        r_.error(v, fmt::format("'when_firewalled' must be allow, localhost-only or closed, found '{}'", *s));
      else if (s) f.when_firewalled = *parse_firewall_action(*s);
    }
    if (auto v = n["addon"]) f.addon = r_.boolean(v, "addon").value_or(false);
    if (auto v = n["symmetric"]) f.symmetric = r_.boolean(v, "symmetric").value_or(false);
    if (auto v = n["notes"]) {
      if (!v.IsSequence()) {
        r_.error(v, fmt::format("'notes' must be a list of note numbers, found {}", display(v)));
      } else {
        for (const auto& item : v)
          if (auto id = note_number(item, "notes")) f.notes.push_back(*id);
        std::sort(f.notes.begin(), f.notes.end());
        f.notes.erase(std::unique(f.notes.begin(), f.notes.end()), f.notes.end());
      }
    }
    if (auto v = n["description"]) f.description = r_.prose(v, "description").value_or("");
    m.flows.push_back(std::move(f));
  }

  yamlio::Reader r_;
  const MatrixReadOptions& opt_;
};

void emit_ports(YAML::Emitter& e, const PortSpec& p) {
  auto list = [&] {
    e << YAML::Flow << YAML::BeginSeq;
    for (const auto& r : p.ports.ranges()) {
      if (r.lo == r.hi) e << r.lo;
      else e << fmt::format("{}-{}", r.lo, r.hi);
    }
    if (p.ephemeral) e << "ephemeral";
    e << YAML::EndSeq;
  };
  if (p.configurable) {
    e << YAML::Flow << YAML::BeginMap << YAML::Key << "ports" << YAML::Value;
    list();
    e << YAML::Key << "configurable" << YAML::Value << true << YAML::EndMap;
  } else {
    list();
  }
}

void emit_strings(YAML::Emitter& e, const std::vector<std::string>& v) {
  e << YAML::Flow << YAML::BeginSeq;
  for (const auto& s : v) e << s;
  e << YAML::EndSeq;
}

}  // namespace

Parsed<Matrix> read_matrix_yaml(std::string_view text, std::string_view file, const MatrixReadOptions& options) {
  Parsed<Matrix> out;
  MatrixReader reader(file, out.diags, options);
  auto m = reader.read(text);
  if (m) check_matrix(*m, out.diags);
  if (m && !out.diags.has_errors()) out.value = std::move(m);
  return out;
}

// [a-z0-9][a-z0-9._-]*, by hand: std::regex recurses once per character and
// overflowed the stack on an id of some 30,000 characters.
bool is_valid_flow_id(std::string_view id) {
  auto ok = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!first && (c == '.' || c == '_' || c == '-'));
  };
  if (id.empty() || !ok(id[0], true)) return false;
  return std::all_of(id.begin() + 1, id.end(), [&](char c) { return ok(c, false); });
}

void check_matrix(const Matrix& m, Diagnostics& diags) {
  std::set<std::string, std::less<>> systems, ids;
  for (const auto& s : m.systems) {
    if (s.name.empty()) diags.error(s.origin, "a system has an empty name");
    if (!systems.insert(s.name).second) diags.error(s.origin, fmt::format("system '{}' is declared twice", s.name));
  }
  for (const auto& f : m.flows) {
    if (!is_valid_flow_id(f.id))
      diags.error(f.origin, fmt::format("flow id '{}' must be lower-case letters, digits, '.', '_' or '-'", f.id));
    if (!ids.insert(f.id).second) diags.error(f.origin, fmt::format("flow id '{}' is used twice", f.id));
    if (f.sources.empty()) diags.error(f.origin, fmt::format("flow '{}' has no source system", f.id));
    if (f.destinations.empty()) diags.error(f.origin, fmt::format("flow '{}' has no destination system", f.id));
    for (const auto* list : {&f.sources, &f.destinations})
      for (const auto& s : *list)
        if (!systems.count(s))
          diags.error(f.origin, fmt::format("flow '{}' names system '{}', which the matrix does not declare", f.id, s));
  }
  std::set<int> notes;
  for (const auto& n : m.notes)
    if (!notes.insert(n.id).second) diags.error(n.origin, fmt::format("note {} is declared twice", n.id));
}

std::string write_matrix_yaml(const Matrix& m) {
  YAML::Emitter e;
  e.SetIndent(2);
  e << YAML::BeginMap;
  e << YAML::Key << "portmatrix" << YAML::Value << 1;
  e << YAML::Key << "name" << YAML::Value << m.name;
  e << YAML::Key << "title" << YAML::Value << m.title;
  e << YAML::Key << "systems" << YAML::Value << YAML::BeginSeq;
  for (const auto& s : m.systems) {
    e << YAML::BeginMap << YAML::Key << "name" << YAML::Value << s.name;
    e << YAML::Key << "description" << YAML::Value << s.description << YAML::EndMap;
  }
  e << YAML::EndSeq;
  e << YAML::Key << "components" << YAML::Value << YAML::BeginSeq;
  for (const auto& c : m.components) {
    e << YAML::BeginMap << YAML::Key << "name" << YAML::Value << c.name;
    e << YAML::Key << "interfaces" << YAML::Value;
    emit_strings(e, c.interfaces);
    e << YAML::Key << "description" << YAML::Value << c.description << YAML::EndMap;
  }
  e << YAML::EndSeq;
  e << YAML::Key << "flows" << YAML::Value << YAML::BeginSeq;
  for (const auto& f : m.flows) {
    e << YAML::BeginMap;
    e << YAML::Key << "id" << YAML::Value << f.id;
    e << YAML::Key << "sources" << YAML::Value;
    emit_strings(e, f.sources);
    e << YAML::Key << "source_ports" << YAML::Value;
    emit_ports(e, f.source_ports);
    e << YAML::Key << "destinations" << YAML::Value;
    emit_strings(e, f.destinations);
    e << YAML::Key << "destination_ports" << YAML::Value;
    emit_ports(e, f.destination_ports);
    e << YAML::Key << "protocols" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (auto p : f.protocols.list()) e << std::string(to_string(p));
    e << YAML::EndSeq;
    e << YAML::Key << "application" << YAML::Value << f.application;
    e << YAML::Key << "optional" << YAML::Value << f.optional;
    e << YAML::Key << "state" << YAML::Value << std::string(to_string(f.state));
    e << YAML::Key << "when_firewalled" << YAML::Value << std::string(to_string(f.when_firewalled));
    e << YAML::Key << "addon" << YAML::Value << f.addon;
    e << YAML::Key << "symmetric" << YAML::Value << f.symmetric;
    e << YAML::Key << "notes" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (int n : f.notes) e << n;
    e << YAML::EndSeq;
    e << YAML::Key << "description" << YAML::Value << f.description;
    e << YAML::EndMap;
  }
  e << YAML::EndSeq;
  e << YAML::Key << "notes" << YAML::Value << YAML::BeginSeq;
  for (const auto& n : m.notes) {
    e << YAML::BeginMap << YAML::Key << "id" << YAML::Value << n.id;
    e << YAML::Key << "text" << YAML::Value << n.text << YAML::EndMap;
  }
  e << YAML::EndSeq;
  e << YAML::EndMap;
  std::string out = e.c_str();
  out += "\n";
  return out;
}

namespace {
nlohmann::ordered_json ports_json(const PortSpec& p) {
  nlohmann::ordered_json ranges = nlohmann::ordered_json::array();
  for (const auto& r : p.ports.ranges()) ranges.push_back({r.lo, r.hi});
  return {{"ranges", ranges}, {"ephemeral", p.ephemeral}, {"configurable", p.configurable}};
}
}  // namespace

std::string write_matrix_json(const Matrix& m) {
  using J = nlohmann::ordered_json;
  J j;
  j["name"] = m.name;
  j["title"] = m.title;
  j["systems"] = J::array();
  for (const auto& s : m.systems) j["systems"].push_back({{"name", s.name}, {"description", s.description}});
  j["components"] = J::array();
  for (const auto& c : m.components)
    j["components"].push_back({{"name", c.name}, {"interfaces", c.interfaces}, {"description", c.description}});
  j["flows"] = J::array();
  for (const auto& f : m.flows) {
    J protos = J::array();
    for (auto p : f.protocols.list()) protos.push_back(std::string(to_string(p)));
    j["flows"].push_back({{"id", f.id},
                          {"sources", f.sources},
                          {"source_ports", ports_json(f.source_ports)},
                          {"destinations", f.destinations},
                          {"destination_ports", ports_json(f.destination_ports)},
                          {"protocols", protos},
                          {"application", f.application},
                          {"optional", f.optional},
                          {"state", std::string(to_string(f.state))},
                          {"when_firewalled", std::string(to_string(f.when_firewalled))},
                          {"addon", f.addon},
                          {"symmetric", f.symmetric},
                          {"notes", f.notes},
                          {"description", f.description}});
  }
  j["notes"] = J::array();
  for (const auto& n : m.notes) j["notes"].push_back({{"id", n.id}, {"text", n.text}});
  return json_text(j, 2) + "\n";
}

std::vector<std::string> bundled_matrix_names() {
  std::vector<std::string> out;
  for (const auto& e : bundled::entries())
    if (e.kind == "matrices") out.emplace_back(e.name);
  std::sort(out.begin(), out.end());
  return out;
}

Parsed<Matrix> load_matrix(std::string_view name_or_path, const MatrixReadOptions& options) {
  std::string arg(name_or_path);
  // A bundled matrix's name is that matrix, even when the current directory has
  // a file of that name (write ./NAME for the file): what a command reads must
  // not depend on the directory it runs in.
  if (auto text = bundled::find("matrices", arg); !text.empty())
    return read_matrix_yaml(text, fmt::format("{} (bundled)", arg), options);
  if (arg.find('/') == std::string::npos && !is_regular_file(arg)) {
    Parsed<Matrix> out;
    std::string names;
    for (const auto& n : bundled_matrix_names()) names += (names.empty() ? "" : ", ") + n;
    out.diags.error({}, fmt::format("'{}' is neither a file nor a bundled matrix (bundled: {})", arg, names));
    return out;
  }
  auto text = read_file(arg);
  if (!text) {
    Parsed<Matrix> out;
    out.diags.error({}, text.error().message);
    return out;
  }
  return read_matrix_yaml(*text, arg, options);
}

}  // namespace portmatrix
