// System-name normalisation for the importer: a system cell as vendors write it
// ("Admin terminal, Avaya Supervisor, or SAL Gateway, SSH, SFTP") becomes the
// list of systems it names. Driven by a table of aliases (builtin_system_aliases()
// plus ImportOptions::aliases) and a few generic rules, listed in docs/import.md.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/import/cells.hpp"
#include "portmatrix/import.hpp"

namespace portmatrix::importer {

// One system named by a cell. pair_of is set when the cell names the other
// member of a pair ("CMS (HA pair)"): it is the base system ("CMS").
struct SystemName {
  std::string name;
  std::string pair_of;
};

struct SystemsCell {
  std::vector<SystemName> systems;  // in the order written, without duplicates
  std::vector<NoteRef> notes;
};

class SystemNames {
 public:
  // The built-in table plus extra aliases (an extra alias overrides a built-in one).
  explicit SystemNames(const std::vector<SystemAlias>& extra = {});
  // Interprets a source or destination cell; an empty cell is an error.
  std::optional<SystemsCell> interpret(const Cell& cell, Diagnostics& diags) const;
  // The canonical name of one system name (the name itself, tidied, when no alias matches).
  std::string canonical(std::string_view name) const;

 private:
  std::vector<std::string> segment(std::string_view name) const;

  std::map<std::string, std::string, std::less<>> aliases_;  // folded alias -> canonical
  std::size_t longest_ = 1;                                   // words in the longest alias
};

// The key names are compared by: lower case, whitespace folded, no spaces around '/'.
std::string fold_system_name(std::string_view name);
// The display form of a name: whitespace folded, no spaces around '/'.
std::string tidy_system_name(std::string_view name);

}  // namespace portmatrix::importer
