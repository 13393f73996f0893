// The shared interpreter: finds the port table(s), the components table, the
// NOTES list and the title in a Document, whatever layout it was read from.
#include <algorithm>
#include <array>
#include <map>
#include <set>

#include <fmt/format.h>

#include "io/import/cells.hpp"
#include "io/import/document.hpp"
#include "io/import/note_rules.hpp"
#include "io/import/systems.hpp"
#include "io/import/util.hpp"
#include "portmatrix/matrix_io.hpp"

namespace portmatrix::importer {

namespace {

// The columns of a port table, as the document's section 2.1 defines them.
enum Col {
  kSrcSys, kSrcPort, kDstSys, kDstPort, kProtocol, kOptional, kState, kDescription, kDirection, kApplication,
  // The columns portmatrix's own CSV and Markdown output adds (show, render).
  kId, kFirewalled, kAddon, kSymmetric, kNotes, kColCount
};
// Columns a table may leave out without a default being said.
bool optional_column(int c) { return c == kDescription || c >= kDirection; }
constexpr std::string_view kColNames[kColCount] = {
    "source system", "source port", "destination system",        "destination port",
    "protocol",      "optionally enabled / disabled", "default port state", "description", "direction", "application",
    "id", "firewalled", "add-on", "symmetric", "notes"};

struct PortHeader {
  std::array<int, kColCount> index;  // cell index of each column, -1 when absent
  std::size_t width = 0;             // number of cells in the header
  int line = 0;
};

struct ComponentHeader {
  int name = -1, interfaces = -1, description = -1;
  int line = 0;
};

// A flow as read, with where each note reference was written.
struct ReadRow {
  Flow flow;
  std::vector<std::pair<NoteRef, Col>> refs;
  std::string raw_source;  // the source cell as written, for ids
  std::optional<FirewallAction> firewalled;  // from a firewalled column: wins over the notes' facts
};

struct NoteDef {
  Note note;
  SourceLoc loc;
};

bool has_word(const std::vector<std::string>& ws, std::string_view w) {
  return std::find(ws.begin(), ws.end(), w) != ws.end();
}

std::size_t non_empty_cells(const Record& r) {
  std::size_t n = 0;
  for (const auto& c : r.cells) n += !trim(c.text).empty();
  return n;
}

// A record read as a line of prose: a text record, a row with no content (a
// blank line), or a CSV row whose only non-empty cell is the first.
std::optional<std::string> text_of(const Record& r) {
  if (r.kind == Record::Kind::text) return std::string(trim(r.text));
  std::size_t n = non_empty_cells(r);
  if (n == 0) return std::string();
  if (n == 1 && r.prose_if_single && !trim(r.cells[0].text).empty()) return std::string(trim(r.cells[0].text));
  return std::nullopt;
}

bool is_heading(std::string_view t) { return !t.empty() && t[0] == '#'; }

// "# **Call Management System (CMS) R20**" -> "Call Management System (CMS) R20".
std::string heading_text(std::string_view t) {
  while (!t.empty() && (t[0] == '#' || t[0] == ' ')) t.remove_prefix(1);
  std::string out;
  for (char c : t)
    if (c != '*') out += c;
  return collapse_spaces(out);
}

bool is_notes_marker(std::string_view t) {
  auto ws = words(t);
  return ws.size() == 1 && (ws[0] == "notes" || ws[0] == "note") && t.size() < 20;
}

bool is_rule_line(std::string_view t) {
  if (t.size() < 3) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return c == '-' || c == '*' || c == '_' || c == ' '; });
}

// A footnote: "[1] text", "¹ text" (a mark as footnote_mark() reads it, then text).
std::optional<std::pair<int, std::string>> footnote_item(std::string_view t) {
  auto mark = footnote_mark(t, 0);
  if (!mark || mark->second >= t.size() || (t[mark->second] != ' ' && t[mark->second] != '\t')) return std::nullopt;
  std::string text = collapse_spaces(t.substr(mark->second));
  if (text.empty()) return std::nullopt;
  return std::make_pair(mark->first, text);
}

// "- 1 Supervisor requires ...", "1. text", "Note 2: text", "(3) text", "[4] text", "⁵ text".
std::optional<std::pair<int, std::string>> note_item(std::string_view t) {
  if (auto f = footnote_item(t)) return f;
  auto skip = [&](std::string_view p) {
    if (t.substr(0, p.size()) == p) {
      t.remove_prefix(p.size());
      t = trim(t);
      return true;
    }
    return false;
  };
  skip("-") || skip("*") || skip("\xE2\x80\xA2");
  if (t.size() > 5 && iequals(t.substr(0, 5), "note ")) t = trim(t.substr(5));
  bool paren = skip("(");
  std::size_t i = 0;
  int id = 0;
  while (i < t.size() && i < 6 && t[i] >= '0' && t[i] <= '9') id = id * 10 + (t[i++] - '0');
  if (i == 0 || i >= t.size()) return std::nullopt;
  if (paren && t[i] != ')') return std::nullopt;
  if (t[i] == '.' || t[i] == ')' || t[i] == ':') ++i;
  if (i >= t.size() || (t[i] != ' ' && t[i] != '\t')) return std::nullopt;
  std::string text = collapse_spaces(t.substr(i));
  if (text.empty()) return std::nullopt;
  return std::make_pair(id, text);
}

// "From" / "To" headings, as some vendors name the two ends: the whole cell, or
// with one more word ("From port", "To host"), so prose is not taken for them.
bool is_end_word(const std::vector<std::string>& ws, std::string_view end) {
  return !ws.empty() && ws.size() <= 2 && ws[0] == end;
}

bool is_port_header(const Record& r) {
  bool source = false, destination = false;
  for (const auto& c : r.cells) {
    auto ws = words(c.text);
    source = source || has_word(ws, "source") || is_end_word(ws, "from");
    destination = destination || has_word(ws, "destination") || is_end_word(ws, "to");
  }
  return source && destination;
}

bool is_component_header(const Record& r) {
  bool component = false, interface = false;
  for (const auto& c : r.cells) {
    auto ws = words(c.text);
    component = component || (!ws.empty() && (ws[0] == "component" || ws[0] == "components"));
    interface = interface || has_word(ws, "interface") || has_word(ws, "interfaces");
  }
  return component && interface;
}

// The second header line under "Source" and "Destination": "System", "Port (Configurable Range)".
bool is_subheader(const Record& r) {
  if (r.kind != Record::Kind::row || non_empty_cells(r) == 0) return false;
  for (const auto& c : r.cells) {
    auto ws = words(c.text);
    if (ws.empty()) continue;
    if (ws[0] != "system" && ws[0] != "systems" && ws[0] != "port" && ws[0] != "ports" && ws[0] != "name") return false;
  }
  return true;
}

std::optional<Col> column_role(const std::vector<std::string>& ws) {
  if (has_word(ws, "direction")) return kDirection;
  if (ws == std::vector<std::string>{"id"}) return kId;
  if (has_word(ws, "firewalled")) return kFirewalled;
  if (has_word(ws, "addon") || ws == std::vector<std::string>{"add", "on"}) return kAddon;
  if (has_word(ws, "symmetric")) return kSymmetric;
  if (ws == std::vector<std::string>{"notes"} || ws == std::vector<std::string>{"note"}) return kNotes;
  bool port = has_word(ws, "port") || has_word(ws, "ports");
  if (has_word(ws, "source") || is_end_word(ws, "from")) return port ? kSrcPort : kSrcSys;
  if (has_word(ws, "destination") || is_end_word(ws, "to")) return port ? kDstPort : kDstSys;
  if (has_word(ws, "protocol") || has_word(ws, "protocols") || has_word(ws, "transport")) return kProtocol;
  if (has_word(ws, "service") || has_word(ws, "services") || has_word(ws, "application")) return kApplication;
  if (has_word(ws, "optionally") || has_word(ws, "optional") || has_word(ws, "enabled")) return kOptional;
  if (has_word(ws, "state")) return kState;
  if (has_word(ws, "description") || has_word(ws, "comments") || has_word(ws, "details")) return kDescription;
  return std::nullopt;
}

class Interpreter {
 public:
  Interpreter(const Document& doc, std::string_view file, const ImportOptions& opt, Diagnostics& diags)
      : doc_(doc), file_(file), opt_(opt), diags_(diags), names_(opt.aliases) {}

  std::optional<Matrix> run() {
    find_furniture();
    walk();
    if (!seen_port_table_) {
      diags_.error({file_, 0, 0},
                   "no port table found: expected a header row naming Source and Destination columns "
                   "(see docs/import.md)");
      return std::nullopt;
    }
    if (rows_.empty() && !diags_.has_errors()) {
      diags_.error({file_, 0, 0}, "the port table has no rows: nothing to import");
      return std::nullopt;
    }
    Matrix m;
    m.name = !opt_.name.empty() ? opt_.name : default_name();
    m.title = !opt_.title.empty() ? opt_.title : title();
    for (auto& [id, def] : notes_) m.notes.push_back(def.note);
    apply_note_rules();
    for (auto& row : rows_)
      if (row.firewalled) row.flow.when_firewalled = *row.firewalled;
    assign_ids();
    std::set<std::string, std::less<>> declared;
    for (auto& row : rows_) {
      for (const auto* list : {&row.flow.sources, &row.flow.destinations})
        for (const auto& s : *list)
          if (declared.insert(s).second) m.systems.push_back({s, {}, {}});
      m.flows.push_back(std::move(row.flow));
    }
    m.components = std::move(components_);
    return m;
  }

 private:
  // Page footers and similar furniture: prose lines the document repeats verbatim
  // (a footer appears on every page), and horizontal rules.
  void find_furniture() {
    std::map<std::string, int, std::less<>> count;
    for (const auto& r : doc_.records)
      if (auto t = text_of(r); t && !t->empty()) ++count[*t];
    for (const auto& [t, n] : count)
      if ((n >= 2 && !is_heading(t) && !is_notes_marker(t) && !note_item(t)) || is_rule_line(t)) furniture_.insert(t);
  }

  enum class State { none, ports, skip, components, notes };

  void walk() {
    const auto& recs = doc_.records;
    bool item_open = false;  // the previous record was a note item (a following line continues it)
    for (std::size_t k = 0; k < recs.size(); ++k) {
      const Record& r = recs[k];
      auto text = text_of(r);
      // A spreadsheet row with only its first cell filled, inside a port table,
      // is a section label ("Inbound to the server") over the rows that follow;
      // it does not end the table, or every row under it would be lost.
      if (state_ == State::ports && r.kind == Record::Kind::row && non_empty_cells(r) == 1 &&
          !trim(r.cells[0].text).empty()) {
        std::string label = collapse_spaces(r.cells[0].text);
        if (!furniture_.count(std::string(trim(r.cells[0].text))) && !is_notes_marker(label) && !note_item(label)) {
          diags_.note(r.cells[0].loc, fmt::format("'{}' is read as a section label inside the port table", label));
          continue;
        }
      }
      if (!text) {
        item_open = false;
        if (is_port_header(r)) {
          const Record* sub = k + 1 < recs.size() && is_subheader(recs[k + 1]) ? &recs[k + 1] : nullptr;
          if (sub) ++k;
          // Rows under a header that could not be read are skipped: the header's errors say why.
          state_ = read_port_header(r, sub) ? State::ports : State::skip;
          seen_port_table_ = true;
          continue;
        }
        if (is_component_header(r)) {
          read_component_header(r);
          state_ = State::components;
          continue;
        }
        switch (state_) {
          case State::ports: read_flow(r); break;
          case State::skip: break;
          case State::components: read_component(r); break;
          case State::notes:
            if (!read_note_row(r)) {
              state_ = State::none;
              stray_row(r);
            }
            break;
          case State::none: stray_row(r); break;
        }
        continue;
      }
      if (text->empty() || furniture_.count(*text)) {
        if (text->empty()) item_open = false;
        continue;
      }
      if (is_notes_marker(*text)) {
        state_ = State::notes;
        item_open = false;
        continue;
      }
      if (state_ == State::notes) {
        if (auto item = note_item(*text)) {
          add_note(item->first, item->second, r.loc);
          item_open = true;
          continue;
        }
        if (item_open && !is_heading(*text) && last_note_) {
          last_note_->note.text += " " + collapse_spaces(*text);
          continue;
        }
      }
      // A footnote ("[1] ...", "¹ ...") is a note wherever it stands, as under a table.
      if (auto item = footnote_item(*text)) {
        add_note(item->first, item->second, r.loc);
        state_ = State::notes;
        item_open = true;
        continue;
      }
      item_open = false;
      state_ = State::none;  // prose ends a table or the notes
      if (is_heading(*text) && !seen_port_table_) headings_.push_back(heading_text(*text));
    }
  }

  void stray_row(const Record& r) {
    diags_.warning(r.loc, "a table row outside any recognised table (no header row before it) is ignored");
  }

  bool read_port_header(const Record& top, const Record* sub) {
    PortHeader h;
    h.index.fill(-1);
    h.line = top.loc.line;
    h.width = std::max(top.cells.size(), sub ? sub->cells.size() : 0);
    std::string span;  // a top cell left empty continues the one to its left ("Source", "")
    bool ok = true;
    int bare_port = -1;
    SourceLoc bare_port_loc;
    for (std::size_t i = 0; i < h.width; ++i) {
      std::string label = i < top.cells.size() ? collapse_spaces(top.cells[i].text) : "";
      if (sub) {
        if (!label.empty()) span = label;
        std::string below = i < sub->cells.size() ? collapse_spaces(sub->cells[i].text) : "";
        label = below.empty() ? span : span + " " + below;
      }
      auto ws = words(label);
      auto role = column_role(ws);
      const Cell& at = i < top.cells.size() ? top.cells[i] : sub->cells[i];
      // A lone "Port" / "Ports" column is the destination port: the port a
      // table names without saying which end is the one that listens.
      if (!role && (has_word(ws, "port") || has_word(ws, "ports")) && bare_port < 0) {
        bare_port = int(i);
        bare_port_loc = at.loc;
        continue;
      }
      if (!role) {
        if (!ws.empty())  // a "#" column only numbers the rows
          diags_.warning(at.loc, fmt::format("column '{}' is not one portmatrix reads: its cells are ignored", label));
        continue;
      }
      if (h.index[*role] >= 0) {
        diags_.error(at.loc, fmt::format("column '{}' repeats the {} column", label, kColNames[*role]));
        ok = false;
        continue;
      }
      h.index[*role] = int(i);
    }
    if (bare_port >= 0) {
      if (h.index[kDstPort] < 0) h.index[kDstPort] = bare_port;
      else
        diags_.warning(bare_port_loc, "a 'Port' column beside a destination port column is not read: its cells are "
                                      "ignored");
    }
    // Tables from other vendors often leave out the columns that have a
    // default in the matrix format; the default is then said once per table.
    for (int c = 0; c < kColCount; ++c) {
      if (h.index[c] >= 0 || (optional_column(c))) continue;
      if (c == kSrcPort || c == kOptional || c == kState) {
        diags_.note(top.loc, fmt::format("the port table header has no {} column: every row gets {}", kColNames[c],
                                         c == kSrcPort ? "source port 'ephemeral'"
                                         : c == kOptional ? "optional: false" : "state: open"));
        continue;
      }
      // The destination port cell may name the transport ("TCP 443") instead.
      if (c == kProtocol && h.index[kDstPort] >= 0) {
        diags_.note(top.loc, "the port table header has no protocol column: the destination port cells must name "
                             "the transport ('TCP 443', '443/tcp')");
        continue;
      }
      diags_.error(top.loc, fmt::format("the port table header has no {} column", kColNames[c]));
      ok = false;
    }
    if (ok) header_ = h;
    return ok;
  }

  void read_component_header(const Record& r) {
    ComponentHeader h;
    h.line = r.loc.line;
    for (std::size_t i = 0; i < r.cells.size(); ++i) {
      auto ws = words(r.cells[i].text);
      if (ws.empty()) continue;
      if (ws[0] == "component" || ws[0] == "components") h.name = int(i);
      else if (has_word(ws, "interface") || has_word(ws, "interfaces")) h.interfaces = int(i);
      else if (has_word(ws, "description")) h.description = int(i);
    }
    comp_header_ = h;
  }

  void read_component(const Record& r) {
    auto cell = [&](int i) -> const Cell* { return i >= 0 && std::size_t(i) < r.cells.size() ? &r.cells[i] : nullptr; };
    const Cell* name = cell(comp_header_.name);
    if (!name || trim(name->text).empty()) {
      diags_.error(name ? name->loc : r.loc, "a component row without a component name");
      return;
    }
    Component c;
    c.name = collapse_spaces(name->text);
    if (const Cell* i = cell(comp_header_.interfaces)) c.interfaces = interpret_interfaces(*i);
    if (const Cell* d = cell(comp_header_.description)) c.description = collapse_spaces(d->text);
    components_.push_back(std::move(c));
  }

  // A note held in cells, as a spreadsheet holds it: "1", "Supervisor requires ...".
  bool read_note_row(const Record& r) {
    if (r.cells.size() < 2) return false;
    auto item = note_item(fmt::format("{} {}", trim(r.cells[0].text), r.cells[1].text));
    if (!item) return false;
    add_note(item->first, item->second, r.loc);
    return true;
  }

  void add_note(int id, std::string text, const SourceLoc& loc) {
    if (auto it = notes_.find(id); it != notes_.end()) {
      diags_.error(loc, fmt::format("note {} is defined twice (first at line {})", id, it->second.loc.line));
      last_note_ = nullptr;
      return;
    }
    auto& def = notes_[id];
    def = {{id, std::move(text), loc}, loc};
    last_note_ = &def;
  }

  void read_flow(const Record& r) {
    if (non_empty_cells(r) == 0) return;
    const PortHeader& h = header_;
    for (std::size_t i = h.width; i < r.cells.size(); ++i)
      if (!trim(r.cells[i].text).empty())
        diags_.warning(r.cells[i].loc,
                       fmt::format("cell beyond the last column of the table header (line {}) is ignored", h.line));
    int needed = 0;
    for (int c = 0; c < kColCount; ++c)
      if (!optional_column(c)) needed = std::max(needed, h.index[c] + 1);
    auto present = [&](Col c) { return h.index[c] >= 0; };
    if (r.cells.size() < std::size_t(needed)) {
      diags_.error(r.loc, fmt::format("the row has {} cells but the table header (line {}) has {} columns",
                                      r.cells.size(), h.line, h.width));
      return;
    }
    auto cell = [&](Col c) -> const Cell& { return r.cells[std::size_t(h.index[c])]; };
    ReadRow row;
    Flow& f = row.flow;
    f.origin = r.loc;
    auto src = names_.interpret(cell(kSrcSys), diags_);
    auto dst = names_.interpret(cell(kDstSys), diags_);
    std::optional<PortCell> sport = PortCell{};
    sport->spec.ephemeral = true;
    if (present(kSrcPort)) sport = interpret_ports(cell(kSrcPort), diags_);
    std::optional<PortCell> dport;
    std::optional<ProtocolCell> proto;
    if (present(kProtocol)) {
      dport = interpret_ports(cell(kDstPort), diags_);
      proto = interpret_protocols(cell(kProtocol), diags_);
    } else if (auto both = interpret_ports_with_transport(cell(kDstPort), diags_)) {
      dport = std::move(both->first);
      proto = ProtocolCell{both->second, {}, {}};
    }
    std::optional<YesNoCell> opt = YesNoCell{};
    if (present(kOptional)) opt = interpret_yes_no(cell(kOptional), diags_);
    std::optional<StateCell> state = StateCell{};
    if (present(kState)) state = interpret_state(cell(kState), diags_);
    if (!src || !dst || !sport || !dport || !proto || !opt || !state) return;
    auto refs = [&](const std::vector<NoteRef>& v, Col c) {
      for (const auto& n : v) row.refs.emplace_back(n, c);
    };
    for (const auto& s : src->systems) f.sources.push_back(s.name);
    for (const auto& d : dst->systems) {
      f.destinations.push_back(d.name);
      if (!d.pair_of.empty() && std::count(f.sources.begin(), f.sources.end(), d.pair_of)) f.symmetric = true;
    }
    for (const auto& s : src->systems)
      if (!s.pair_of.empty() && std::count(f.destinations.begin(), f.destinations.end(), s.pair_of)) f.symmetric = true;
    refs(src->notes, kSrcSys);
    refs(dst->notes, kDstSys);
    f.source_ports = sport->spec;
    refs(sport->notes, kSrcPort);
    f.destination_ports = dport->spec;
    refs(dport->notes, kDstPort);
    f.protocols = proto->protocols;
    f.application = proto->application;
    refs(proto->notes, kProtocol);
    f.optional = opt->value;
    refs(opt->notes, kOptional);
    f.state = state->state;
    refs(state->notes, kState);
    // Optional columns may be missing from a short row.
    auto has_cell = [&](Col c) { return present(c) && std::size_t(h.index[c]) < r.cells.size(); };
    // A service column names the application when the protocol cell does not.
    if (has_cell(kApplication)) {
      const Cell& a = cell(kApplication);
      std::vector<NoteRef> app_refs = cell_note_refs(a);
      refs(app_refs, kApplication);
      std::string app = a.text;
      for (const auto& span : find_note_refs(a.text))
        std::fill(app.begin() + long(span.begin), app.begin() + long(span.end), ' ');
      app = collapse_spaces(app);
      if (f.application.empty()) f.application = app;
    }
    if (has_cell(kId)) {
      // portmatrix's own ids are kept as written; a vendor's ("FW-01", "Rule 7")
      // become valid ones ("fw-01", "rule-7").
      std::string given = collapse_spaces(cell(kId).text);
      f.id = is_valid_flow_id(given) ? given : slug(given);
    }
    if (has_cell(kFirewalled) && !trim(cell(kFirewalled).text).empty()) {
      const Cell& c = cell(kFirewalled);
      row.firewalled = parse_firewall_action(lower(trim(c.text)));
      if (!row.firewalled) {
        diags_.error(c.loc, fmt::format("'{}' is not allow, localhost-only or closed", trim(c.text)));
        return;
      }
    }
    for (Col c : {kAddon, kSymmetric}) {
      if (!has_cell(c) || trim(cell(c).text).empty()) continue;
      auto yes = interpret_yes_no(cell(c), diags_);
      if (!yes) return;
      bool& flag = c == kAddon ? f.addon : f.symmetric;
      flag = flag || yes->value;
    }
    if (has_cell(kNotes)) {
      const Cell& c = cell(kNotes);
      std::size_t start = 0;
      for (std::size_t i = 0; i <= c.text.size(); ++i) {
        if (i < c.text.size() && c.text[i] != ',' && c.text[i] != ';' && !is_space(c.text[i])) continue;
        std::string_view item = std::string_view(c.text).substr(start, i - start);
        if (!item.empty()) {
          std::string digits(item);
          std::optional<int> id;
          if (digits.size() <= 6 && std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
            id = std::stoi(digits);
          if (!id) {
            diags_.error(loc_in(c, start), fmt::format("'{}' is not a note number", item));
            return;
          }
          row.refs.emplace_back(NoteRef{*id, loc_in(c, start)}, kNotes);
        }
        start = i + 1;
      }
    }
    if (has_cell(kDirection)) {
      auto both = interpret_direction(cell(kDirection), diags_);
      if (!both) return;
      f.symmetric = f.symmetric || *both;
    }
    if (h.index[kDescription] >= 0 && std::size_t(h.index[kDescription]) < r.cells.size()) {
      const Cell& d = cell(kDescription);
      f.description = collapse_spaces(d.text);
      refs(cell_note_refs(d), kDescription);
    }
    for (const auto& [n, c] : row.refs) f.notes.push_back(n.id);
    std::sort(f.notes.begin(), f.notes.end());
    f.notes.erase(std::unique(f.notes.begin(), f.notes.end()), f.notes.end());
    if ((f.protocols.has(Protocol::tcp) || f.protocols.has(Protocol::udp)) && f.destination_ports.empty())
      diags_.warning(cell(kDstPort).loc, "the row names TCP or UDP but gives no destination port");
    row.raw_source = cell(kSrcSys).text;
    for (const auto& span : find_note_refs(row.raw_source))
      std::fill(row.raw_source.begin() + long(span.begin), row.raw_source.begin() + long(span.end), ' ');
    rows_.push_back(std::move(row));
  }

  // The notes' derived facts (note_rules.cpp), applied to the rows that cite them.
  void apply_note_rules() {
    std::map<int, std::vector<NoteFact>> facts;
    for (const auto& [id, def] : notes_) facts[id] = note_facts(def.note.text);
    for (auto& row : rows_) {
      Flow& f = row.flow;
      std::optional<std::pair<FirewallAction, int>> action;  // and the note that set it
      for (const auto& [ref, col] : row.refs) {
        auto it = facts.find(ref.id);
        if (it == facts.end()) {
          diags_.warning(ref.loc, fmt::format("the row refers to note {}, which the document does not define", ref.id));
          continue;
        }
        for (const auto& fact : it->second) {
          if (!fact.ports.empty() && !names_any_port(f, fact.ports)) {
            diags_.warning(ref.loc, fmt::format("note {} says '{}', but names a port this row does not have: not "
                                                "applied to the row",
                                                ref.id, fact.sentence));
            continue;
          }
          switch (fact.effect) {
            case NoteEffect::configurable_port:
              (col == kSrcPort ? f.source_ports : f.destination_ports).configurable = true;
              break;
            case NoteEffect::addon: f.addon = true; break;
            case NoteEffect::localhost_only:
            case NoteEffect::closed_when_firewalled: {
              auto a = fact.effect == NoteEffect::localhost_only ? FirewallAction::localhost_only
                                                                 : FirewallAction::closed;
              if (action && action->first != a) {
                diags_.error(ref.loc, fmt::format("notes {} and {} give the row different firewall behaviour ({} "
                                                  "and {})",
                                                  action->second, ref.id, to_string(action->first), to_string(a)));
                continue;
              }
              action = std::make_pair(a, ref.id);
              f.when_firewalled = a;
              break;
            }
          }
        }
      }
    }
  }

  static bool names_any_port(const Flow& f, const std::vector<std::uint16_t>& ports) {
    for (auto p : ports)
      if (f.destination_ports.ports.contains(p) || f.source_ports.ports.contains(p)) return true;
    return false;
  }

  // Ids from the application ("TCP/SSH/SFTP" -> "ssh"), else from the system at
  // the far end from the product (the system most rows name): stable as long as
  // the rows before do not change, unique, and valid for check_matrix.
  void assign_ids() {
    std::map<std::string, int> uses;
    std::vector<std::string> order;
    for (const auto& row : rows_)
      for (const auto* list : {&row.flow.sources, &row.flow.destinations})
        for (const auto& s : *list)
          if (uses[s]++ == 0) order.push_back(s);
    std::string product;
    int most = 0;
    for (const auto& s : order)
      if (uses[s] > most) {
        most = uses[s];
        product = s;
      }
    std::set<std::string> taken;
    for (const auto& row : rows_)  // ids the table gives (an id column) are kept
      if (!row.flow.id.empty()) taken.insert(row.flow.id);
    std::map<std::string, int> next_suffix;
    for (auto& row : rows_) {
      Flow& f = row.flow;
      if (!f.id.empty()) continue;
      auto has_product = [&](const std::vector<std::string>& v) {
        return std::find(v.begin(), v.end(), product) != v.end();
      };
      std::string peer = !has_product(f.destinations) ? f.destinations.front()
                         : !has_product(f.sources)    ? f.sources.front()
                                                      : row.raw_source;
      std::string base;
      if (!f.application.empty()) {
        std::string_view first = f.application;
        first = first.substr(0, first.find('/'));
        first = first.substr(0, first.find('('));
        base = slug(first);
      }
      if (base.empty()) base = slug(peer);
      if (base.empty()) base = "flow";
      std::string id = base;
      if (taken.count(id) && slug(peer) != base && !slug(peer).empty()) id = base + "-" + slug(peer);
      if (taken.count(id)) {
        // The smallest free "base-N" (N >= 2) only grows as ids are taken, so
        // the search resumes where it last stopped for this base.
        int& n = next_suffix.try_emplace(base, 2).first->second;
        while (taken.count(id = fmt::format("{}-{}", base, n))) ++n;
      }
      taken.insert(id);
      f.id = id;
    }
  }

  std::string default_name() const {
    std::string_view f = file_;
    if (auto slash = f.rfind('/'); slash != std::string_view::npos) f.remove_prefix(slash + 1);
    if (auto dot = f.rfind('.'); dot != std::string_view::npos && dot > 0) f = f.substr(0, dot);
    std::string s = slug(f);
    return s.empty() ? "imported" : s;
  }

  // The first heading before the port table that is more than "... Port Matrix".
  std::string title() const {
    for (const auto& h : headings_) {
      auto ws = words(h);
      if (!(ws.size() >= 2 && ws[ws.size() - 2] == "port" && ws.back() == "matrix")) return h;
    }
    return headings_.empty() ? "" : headings_.front();
  }

  const Document& doc_;
  std::string file_;
  const ImportOptions& opt_;
  Diagnostics& diags_;
  SystemNames names_;
  std::set<std::string, std::less<>> furniture_;
  State state_ = State::none;
  PortHeader header_{};
  ComponentHeader comp_header_{};
  bool seen_port_table_ = false;
  std::vector<ReadRow> rows_;
  std::vector<Component> components_;
  std::map<int, NoteDef> notes_;
  NoteDef* last_note_ = nullptr;
  std::vector<std::string> headings_;
};

}  // namespace

std::optional<Matrix> interpret(const Document& doc, std::string_view file, const ImportOptions& options,
                                Diagnostics& diags) {
  return Interpreter(doc, file, options, diags).run();
}

}  // namespace portmatrix::importer
