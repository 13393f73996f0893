// The cell interpreter: what one cell of a vendor table means, as vendors
// write it ("1556/13724", "6001 (Note 6)", "TCP/ SNMP Trap", "No (Note 1)").
// Shared by every layout; the grammar is in docs/import.md. A cell that cannot
// be understood adds a diagnostic at its line and column and yields nullopt.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/import/document.hpp"
#include "portmatrix/diag.hpp"
#include "portmatrix/model.hpp"

namespace portmatrix::importer {

// A reference to a numbered note ("(Note 6)", "See Notes 2, 4.") and where it is.
struct NoteRef {
  int id = 0;
  SourceLoc loc;
};

// A note reference's place in a cell: [begin, end) covers the whole reference,
// including "See " and enclosing parentheses, so it can be cut out of the cell.
struct NoteRefSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::vector<std::pair<int, std::size_t>> ids;  // note number and its offset
};
// A footnote mark at text[i] ("[1]", "¹", "²³"): the note number and the mark's length.
std::optional<std::pair<int, std::size_t>> footnote_mark(std::string_view text, std::size_t i);
// Every note reference in text, in order: "Note 6", "See Notes 2, 4", and footnote marks.
std::vector<NoteRefSpan> find_note_refs(std::string_view text);
// The note references of a cell, located.
std::vector<NoteRef> cell_note_refs(const Cell& cell);

// A port column: "22", "Ephemeral", "22, Ephemeral", "5001-64500", "1556/13724",
// "443 (C)", "Any", "NA" (no port given: a warning).
struct PortCell {
  PortSpec spec;
  std::vector<NoteRef> notes;
};
std::optional<PortCell> interpret_ports(const Cell& cell, Diagnostics& diags);

// A port cell that also names the transport, for tables without a protocol
// column: "TCP 443", "443/tcp", "TCP/UDP 53", "UDP 161, 162". Items naming
// different transports ("TCP 80, UDP 53") and a cell without one are errors.
std::optional<std::pair<PortCell, ProtocolSet>> interpret_ports_with_transport(const Cell& cell, Diagnostics& diags);

// The protocol column: "TCP", "TCP/UDP", "TCP/SSH/SFTP" (application SSH/SFTP),
// "TCP/ SNMP Trap", "NA" (unknown, never guessed).
struct ProtocolCell {
  ProtocolSet protocols;  // empty: unknown
  std::string application;
  std::vector<NoteRef> notes;
};
std::optional<ProtocolCell> interpret_protocols(const Cell& cell, Diagnostics& diags);

// "Yes", "No", "No (Note 1)".
struct YesNoCell {
  bool value = false;
  std::vector<NoteRef> notes;
};
std::optional<YesNoCell> interpret_yes_no(const Cell& cell, Diagnostics& diags);

// "Open", "Closed", "Filtered", "Open (Note 1)".
struct StateCell {
  PortState state = PortState::open;
  std::vector<NoteRef> notes;
};
std::optional<StateCell> interpret_state(const Cell& cell, Diagnostics& diags);

// A direction column: true when both ends start connections ("Bidirectional",
// "Both", "<->", "↔"), false for one way from source to destination ("Inbound",
// "Outbound", "->", "→", empty). A reversed arrow ("<-") or anything else is an error.
std::optional<bool> interpret_direction(const Cell& cell, Diagnostics& diags);

// A components table's interface column: "Eth0", "Eth1-3", "eth0, eth1" -> lower case names.
std::vector<std::string> interpret_interfaces(const Cell& cell);

}  // namespace portmatrix::importer
