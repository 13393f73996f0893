// A thin wrapper over libnftables: run commands as one transaction and read the
// ruleset back as text or JSON. Works in the network namespace of the calling thread.
#pragma once
#include <map>
#include <string>
#include <string_view>

#include "portmatrix/diag.hpp"

namespace portmatrix::nft {

// Runs nft commands (the syntax of `nft -f`) as one transaction: all of it or
// nothing. Returns nft's output; an Error of kind kernel carries nft's message.
// handles: text listings end each object's line with `# handle N` (as `nft -a`).
Expected<std::string> run(std::string_view commands, bool json_output = false, bool dry_run = false, bool handles = false);

// The listing of `table inet portmatrix`, or "" when the table is absent.
Expected<std::string> list_own_table();
// The whole ruleset as nft's JSON.
Expected<std::string> list_ruleset_json();
// Deletes `table inet portmatrix` if present (other tables are untouched).
Status delete_own_table();

struct Counter {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};
// Sums the counters of the rules of `table inet portmatrix` by rule comment
// (row_comment() of the row id: the id itself unless it is long; see row_of_comment()).
Expected<std::map<std::string, Counter>> own_counters();

inline constexpr std::string_view kFamily = "inet";
inline constexpr std::string_view kTable = "portmatrix";

}  // namespace portmatrix::nft
