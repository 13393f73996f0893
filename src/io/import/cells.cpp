#include "io/import/cells.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "io/import/util.hpp"

namespace portmatrix::importer {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_word_char(char c) { return is_digit(c) || is_alpha(c); }

// Reads the digits at s[i...]; at most 6 so the value cannot overflow.
std::optional<int> read_number(std::string_view s, std::size_t& i) {
  std::size_t start = i;
  int v = 0;
  while (i < s.size() && is_digit(s[i])) {
    if (i - start >= 6) return std::nullopt;
    v = v * 10 + (s[i] - '0');
    ++i;
  }
  if (i == start) return std::nullopt;
  return v;
}

std::size_t skip_spaces(std::string_view s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i;
}

// A copy of text with the given ranges replaced by spaces: offsets stay valid
// for diagnostics while the marked parts no longer take part in parsing.
std::string blank_out(std::string_view text, const std::vector<std::pair<std::size_t, std::size_t>>& ranges) {
  std::string out(text);
  for (auto [b, e] : ranges)
    for (std::size_t i = b; i < e && i < out.size(); ++i) out[i] = ' ';
  return out;
}

// The cell's text with its note references blanked out, and the references.
std::string without_note_refs(const Cell& cell, std::vector<NoteRef>& notes) {
  std::vector<std::pair<std::size_t, std::size_t>> cut;
  for (const auto& span : find_note_refs(cell.text)) {
    cut.emplace_back(span.begin, span.end);
    for (auto [id, off] : span.ids) notes.push_back({id, loc_in(cell, off)});
  }
  return blank_out(cell.text, cut);
}

// Case-insensitive search for needle in hay from pos.
std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t pos = 0) {
  for (std::size_t i = pos; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

// Cell values that mean "the document does not say".
bool is_not_given(std::string_view s) {
  static constexpr std::string_view kNotGiven[] = {"na", "n/a", "n.a.", "-", "--", "none", "unknown", "not applicable"};
  for (auto v : kNotGiven)
    if (iequals(s, v)) return true;
  return false;
}

// The length of a range dash at s[i] (ASCII hyphen, en dash, em dash, minus sign), or 0.
std::size_t dash_at(std::string_view s, std::size_t i) {
  if (s[i] == '-') return 1;
  for (std::string_view d : {"\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x88\x92"})
    if (s.substr(i, d.size()) == d) return d.size();
  return 0;
}

// One port number of an item, range-checked.
std::optional<std::uint16_t> port_number(std::string_view s, std::string& error) {
  s = trim(s);
  if (s.empty() || s.size() > 7) {
    error = "not a number";
    return std::nullopt;
  }
  std::uint32_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) {
      error = "not a number";
      return std::nullopt;
    }
    v = v * 10 + std::uint32_t(c - '0');
  }
  if (v > 65535) {
    error = fmt::format("port {} is outside 0-65535", v);
    return std::nullopt;
  }
  return std::uint16_t(v);
}

// One item of a port cell: a port, a range, "Ephemeral" or "Any". Returns false after a diagnostic.
bool port_item(const Cell& cell, std::string_view text, std::size_t begin, std::size_t end, PortSpec& spec,
               Diagnostics& diags) {
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;
  if (begin == end) return true;  // "22,,23" or a trailing comma: nothing to read
  std::string_view item = text.substr(begin, end - begin);
  if (iequals(item, "ephemeral") || iequals(item, "ephemeral ports")) {
    spec.ephemeral = true;
    return true;
  }
  if (iequals(item, "any") || iequals(item, "all")) {
    spec.ports.add(PortRange{0, 65535});
    return true;
  }
  // "49152+": that port and every one above it.
  if (item.size() > 1 && item.back() == '+') {
    std::string error;
    auto lo = port_number(item.substr(0, item.size() - 1), error);
    if (!lo) {
      diags.error(loc_in(cell, begin), error == "not a number"
                                           ? fmt::format("'{}' is not a port followed by '+' (that port and above)", item)
                                           : fmt::format("'{}': {}", item, error));
      return false;
    }
    spec.ports.add(PortRange{*lo, 65535});
    return true;
  }
  std::size_t dash = std::string_view::npos, dash_len = 0;
  for (std::size_t i = 1; i < item.size(); ++i) {
    if (std::size_t n = dash_at(item, i)) {
      dash = i;
      dash_len = n;
      break;
    }
  }
  if (dash == std::string_view::npos) {
    if (auto to = ifind(item, " to "); to != std::string_view::npos) {
      dash = to;
      dash_len = 4;
    }
  }
  std::string error;
  if (dash == std::string_view::npos) {
    auto p = port_number(item, error);
    if (!p) {
      diags.error(loc_in(cell, begin),
                  error == "not a number"
                      ? fmt::format("'{}' is not a port, a range LOW-HIGH, 'Ephemeral' or 'Any'", item)
                      : error);
      return false;
    }
    spec.ports.add(PortRange{*p, *p});
    return true;
  }
  auto lo = port_number(item.substr(0, dash), error);
  auto hi = lo ? port_number(item.substr(dash + dash_len), error) : std::nullopt;
  if (!lo || !hi) {
    diags.error(loc_in(cell, begin), error == "not a number"
                                         ? fmt::format("'{}' is not a port range LOW-HIGH within 0-65535", item)
                                         : fmt::format("'{}': {}", item, error));
    return false;
  }
  if (*lo > *hi) {
    diags.error(loc_in(cell, begin), fmt::format("reversed port range '{}' (the low end comes first)", item));
    return false;
  }
  spec.ports.add(PortRange{*lo, *hi});
  return true;
}

// The value of a superscript digit at s[i] and its length in bytes, or -1.
int superscript_digit(std::string_view s, std::size_t i, std::size_t& len) {
  // ¹ ² ³ are in Latin-1 (U+00B9, U+00B2, U+00B3), the others at U+2070-U+2079.
  if (s.substr(i, 2) == "\xC2\xB9") return len = 2, 1;
  if (s.substr(i, 2) == "\xC2\xB2") return len = 2, 2;
  if (s.substr(i, 2) == "\xC2\xB3") return len = 2, 3;
  if (i + 3 <= s.size() && s[i] == '\xE2' && s[i + 1] == '\x81') {
    unsigned char c = static_cast<unsigned char>(s[i + 2]);
    if (c == 0xB0 || (c >= 0xB4 && c <= 0xB9)) return len = 3, c == 0xB0 ? 0 : c - 0xB0;
  }
  return len = 0, -1;
}

}  // namespace

std::optional<std::pair<int, std::size_t>> footnote_mark(std::string_view text, std::size_t i) {
  if (i < text.size() && text[i] == '[') {
    std::size_t j = i + 1;
    auto id = read_number(text, j);
    if (id && j < text.size() && text[j] == ']') return std::make_pair(*id, j + 1 - i);
    return std::nullopt;
  }
  std::size_t j = i, len = 0;
  int id = 0, digits = 0;
  for (int d; digits < 6 && (d = superscript_digit(text, j, len)) >= 0; j += len, ++digits) id = id * 10 + d;
  if (digits == 0) return std::nullopt;
  return std::make_pair(id, j - i);
}

namespace {

// Footnote marks as references: "22 [1]", "22¹".
void find_footnote_marks(std::string_view text, std::vector<NoteRefSpan>& out) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto mark = footnote_mark(text, i);
    if (!mark) continue;
    NoteRefSpan span;
    span.begin = i;
    span.end = i + mark->second;
    span.ids.emplace_back(mark->first, text[i] == '[' ? i + 1 : i);
    i = span.end - 1;
    out.push_back(std::move(span));
  }
}

}  // namespace

std::vector<NoteRefSpan> find_note_refs(std::string_view text) {
  std::vector<NoteRefSpan> out;
  find_footnote_marks(text, out);
  std::size_t pos = 0;
  while ((pos = ifind(text, "note", pos)) != std::string_view::npos) {
    std::size_t start = pos;
    pos += 4;
    if (start > 0 && is_word_char(text[start - 1])) continue;
    std::size_t i = pos;
    if (i < text.size() && (text[i] == 's' || text[i] == 'S')) ++i;
    if (i < text.size() && is_alpha(text[i])) continue;  // "notes" is fine, "notebook" is not a reference
    i = skip_spaces(text, i);
    if (i < text.size() && (text[i] == ':' || text[i] == '#')) i = skip_spaces(text, i + 1);
    NoteRefSpan span;
    while (true) {
      std::size_t at = i;
      auto id = read_number(text, i);
      if (!id || (i < text.size() && is_alpha(text[i]))) {
        i = at;
        break;
      }
      span.ids.emplace_back(*id, at);
      // Another number follows after ",", "&" or "and".
      std::size_t j = skip_spaces(text, i);
      if (j < text.size() && (text[j] == ',' || text[j] == '&')) {
        j = skip_spaces(text, j + 1);
      } else if (j + 3 <= text.size() && iequals(text.substr(j, 3), "and")) {
        j = skip_spaces(text, j + 3);
      } else {
        break;
      }
      if (j >= text.size() || !is_digit(text[j])) break;
      i = j;
    }
    if (span.ids.empty()) continue;
    span.begin = start;
    span.end = i;
    // Take in a leading "See " and enclosing parentheses, so the whole reference can be cut out.
    if (span.begin >= 4 && iequals(text.substr(span.begin - 4, 4), "see ")) span.begin -= 4;
    std::size_t before = span.begin;
    while (before > 0 && text[before - 1] == ' ') --before;
    std::size_t after = skip_spaces(text, span.end);
    if (before > 0 && text[before - 1] == '(' && after < text.size() && text[after] == ')') {
      span.begin = before - 1;
      span.end = after + 1;
    }
    pos = span.end;
    out.push_back(std::move(span));
  }
  std::sort(out.begin(), out.end(), [](const NoteRefSpan& x, const NoteRefSpan& y) { return x.begin < y.begin; });
  return out;
}

std::vector<NoteRef> cell_note_refs(const Cell& cell) {
  std::vector<NoteRef> notes;
  without_note_refs(cell, notes);
  return notes;
}

std::optional<PortCell> interpret_ports(const Cell& cell, Diagnostics& diags) {
  PortCell out;
  std::string text = without_note_refs(cell, out.notes);
  // "(C)" marks a configurable port, as the document's column definitions say.
  for (std::string_view marker : {"(c)", "(configurable)"}) {
    std::size_t at = 0;
    while ((at = ifind(text, marker, at)) != std::string_view::npos) {
      out.spec.configurable = true;
      for (std::size_t i = 0; i < marker.size(); ++i) text[at + i] = ' ';
    }
  }
  std::string_view body = trim(text);
  if (body.empty()) {
    diags.warning(cell.loc, "empty port cell: the row gives no port here");
    return out;
  }
  if (is_not_given(body)) {
    diags.note(cell.loc, fmt::format("no port given ('{}'): the row has no ports here", body));
    return out;
  }
  bool ok = true;
  std::size_t item_start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ',' || text[i] == ';' || text[i] == '/') {
      ok = port_item(cell, text, item_start, i, out.spec, diags) && ok;
      item_start = i + 1;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::pair<PortCell, ProtocolSet>> interpret_ports_with_transport(const Cell& cell, Diagnostics& diags) {
  // Find the transport words, and check that every item that names one names
  // the same: "TCP 80, UDP 53" would otherwise become tcp and udp on both ports.
  Cell ports = cell;
  ProtocolSet all, item;
  std::optional<ProtocolSet> first_item;
  bool ok = true;
  auto end_item = [&](std::size_t at) {
    if (item.unknown()) return;
    while (at < cell.text.size() && is_space(cell.text[at])) ++at;
    if (first_item && !(*first_item == item)) {
      diags.error(loc_in(cell, at), "the items of this port cell name different transports: write one row per "
                                    "transport, or add a protocol column");
      ok = false;
    }
    if (!first_item) first_item = item;
    item = ProtocolSet{};
  };
  std::size_t item_start = 0;
  for (std::size_t i = 0; i < cell.text.size();) {
    char c = cell.text[i];
    if (c == ',' || c == ';') {
      end_item(item_start);
      item_start = ++i;
      continue;
    }
    if (!is_word_char(c)) {
      ++i;
      continue;
    }
    std::size_t w = i;
    while (i < cell.text.size() && is_word_char(cell.text[i])) ++i;
    if (auto p = parse_protocol(lower(std::string_view(cell.text).substr(w, i - w)))) {
      item.add(*p);
      all.add(*p);
      for (std::size_t k = w; k < i; ++k) ports.text[k] = ' ';
    }
  }
  end_item(item_start);
  if (!ok) return std::nullopt;
  if (all.unknown()) {
    diags.error(cell.loc, fmt::format("the table has no protocol column and '{}' names no transport (TCP, UDP): "
                                      "write it as 'TCP 443' or '443/tcp'",
                                      trim(cell.text)));
    return std::nullopt;
  }
  auto p = interpret_ports(ports, diags);
  if (!p) return std::nullopt;
  return std::make_pair(std::move(*p), all);
}

std::optional<ProtocolCell> interpret_protocols(const Cell& cell, Diagnostics& diags) {
  ProtocolCell out;
  std::string text = without_note_refs(cell, out.notes);
  std::string_view body = trim(text);
  if (body.empty()) {
    diags.warning(cell.loc, "empty protocol cell: the protocol is kept as unknown");
    return out;
  }
  if (is_not_given(body)) {
    diags.note(cell.loc, fmt::format("protocol not given ('{}'): kept as unknown, never guessed", body));
    return out;
  }
  // Leading '/'-separated parts naming transports ("TCP", "TCP/UDP", "TCP & UDP");
  // the rest is the application protocol. A part that starts with transports and
  // goes on with other words ("UDP (DNS)", "TCP HTTPS") gives both: its transports,
  // and the rest as the start of the application, so "TCP/UDP (DNS)" keeps UDP.
  std::size_t part_start = 0;
  std::size_t app_start = std::string::npos;  // where the application starts in text
  bool any_transport = false;
  while (part_start <= text.size()) {
    std::size_t slash = text.find('/', part_start);
    std::size_t part_end = slash == std::string::npos ? text.size() : slash;
    ProtocolSet found;
    std::size_t i = part_start, rest = part_end;
    while (i < part_end) {
      if (is_space(text[i]) || text[i] == ',' || text[i] == '&' || text[i] == '+') {
        ++i;
        continue;
      }
      std::size_t w = i;
      while (i < part_end && is_word_char(text[i])) ++i;
      std::string word = lower(std::string_view(text).substr(w, i - w));
      auto p = parse_protocol(word);
      if (!p && !((word == "and" || word == "or") && !found.unknown())) {
        rest = w;
        break;
      }
      if (p) found.add(*p);
    }
    if (found.unknown()) {
      app_start = part_start;
      break;
    }
    for (auto p : found.list()) out.protocols.add(p);
    any_transport = true;
    if (rest < part_end) {
      app_start = rest;
      break;
    }
    part_start = part_end + 1;
  }
  std::string application;
  if (app_start < text.size()) {
    for (auto part : split(std::string_view(text).substr(app_start), '/')) {
      std::string p = collapse_spaces(part);
      if (p.size() >= 2 && p.front() == '(' && p.back() == ')' && p.find(')') == p.size() - 1)
        p = collapse_spaces(std::string_view(p).substr(1, p.size() - 2));
      if (p.empty()) continue;
      if (!application.empty()) application += '/';
      application += p;
    }
  }
  out.application = application;
  // A transport left in the application ("TCP (UDP for discovery)") is not
  // read as one: say so rather than lose it quietly.
  for (const auto& w : words(application))
    if (parse_protocol(w) && !out.protocols.has(*parse_protocol(w))) {
      diags.warning(cell.loc, fmt::format("'{}' names {} after the application starts: it is not read as a transport "
                                          "(write it first, as in 'TCP/UDP')",
                                          body, w));
      break;
    }
  if (!any_transport) {
    diags.warning(cell.loc, fmt::format("no transport protocol (TCP, UDP, ICMP) in '{}': the protocol is kept as "
                                        "unknown and the cell is read as the application",
                                        body));
  }
  return out;
}

std::optional<YesNoCell> interpret_yes_no(const Cell& cell, Diagnostics& diags) {
  YesNoCell out;
  std::string text = without_note_refs(cell, out.notes);
  std::string_view body = trim(text);
  while (!body.empty() && body.back() == '.') body.remove_suffix(1);
  for (std::string_view yes : {"yes", "y", "true"})
    if (iequals(body, yes)) {
      out.value = true;
      return out;
    }
  for (std::string_view no : {"no", "n", "false"})
    if (iequals(body, no)) {
      out.value = false;
      return out;
    }
  auto where = body.empty() ? cell.loc : loc_in(cell, std::size_t(body.data() - text.data()));
  diags.error(where, fmt::format("'{}' is not Yes or No", body));
  return std::nullopt;
}

std::optional<StateCell> interpret_state(const Cell& cell, Diagnostics& diags) {
  StateCell out;
  std::string text = without_note_refs(cell, out.notes);
  std::string_view body = trim(text);
  while (!body.empty() && body.back() == '.') body.remove_suffix(1);
  if (auto s = parse_port_state(lower(body))) {
    out.state = *s;
    return out;
  }
  auto where = body.empty() ? cell.loc : loc_in(cell, std::size_t(body.data() - text.data()));
  diags.error(where, fmt::format("'{}' is not a port state (Open, Closed or Filtered)", body));
  return std::nullopt;
}

std::optional<bool> interpret_direction(const Cell& cell, Diagnostics& diags) {
  std::vector<NoteRef> ignored;
  std::string text = without_note_refs(cell, ignored);
  std::string_view body = trim(text);
  std::string folded = lower(collapse_spaces(body));
  static constexpr std::string_view kBoth[] = {"bidirectional", "bi-directional", "both", "both ways", "two-way",
                                                "<->", "<-->", "<=>", "\xE2\x86\x94", "\xE2\x87\x84", "\xE2\x87\x86"};
  static constexpr std::string_view kOneWay[] = {"",        "inbound", "outbound", "in",     "out", "ingress",
                                                  "egress",  "unidirectional", "one-way", "->",  "-->", "=>",
                                                  "\xE2\x86\x92"};
  for (auto w : kBoth)
    if (folded == w) return true;
  for (auto w : kOneWay)
    if (folded == w) return false;
  auto where = body.empty() ? cell.loc : loc_in(cell, std::size_t(body.data() - text.data()));
  if (folded == "<-" || folded == "<--" || folded == "\xE2\x86\x90")
    diags.error(where, fmt::format("direction '{}' points from destination to source: put the system that starts "
                                   "the connection under Source",
                                   body));
  else
    diags.error(where, fmt::format("'{}' is not a direction (Inbound, Outbound, ->, or Bidirectional, <->)", body));
  return std::nullopt;
}

std::vector<std::string> interpret_interfaces(const Cell& cell) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) out.push_back(lower(cur));
    cur.clear();
  };
  for (char c : cell.text) {
    if (is_space(c) || c == ',' || c == ';') flush();
    else cur += c;
  }
  flush();
  return out;
}

}  // namespace portmatrix::importer
