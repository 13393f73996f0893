// Facts the importer derives from the text of a vendor's notes: which rows a
// note makes configurable, add-on, localhost-only or closed by the host
// firewall. The rules live in one table (note_rules.cpp, docs/import.md).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace portmatrix::importer {

enum class NoteEffect {
  configurable_port,       // "ACD Ports are configured in CMS": the referencing port cell is configurable
  addon,                   // "not part of standard CMS configuration": the row is an add-on offering
  localhost_only,          // "telnet can be restricted to only localhost": when_firewalled localhost-only
  closed_when_firewalled,  // "... activate the internal firewall, port 6001 will be closed": when_firewalled closed
};
std::string_view to_string(NoteEffect e);

// One rule matched in a note's text.
struct NoteFact {
  NoteEffect effect;
  std::string sentence;              // the sentence that matched, for messages
  std::vector<std::uint16_t> ports;  // ports the sentence names ("port 6001"); empty: any
};

// Every fact a note's text states, in rule order (at most one per effect).
std::vector<NoteFact> note_facts(std::string_view text);

}  // namespace portmatrix::importer
