// The active nftables ruleset compared with what `compile` produces: is
// `table inet portmatrix` loaded, does it hold exactly the compiled rules (rule by
// rule, normalised: no handles, no counter values, matched by chain and comment,
// i.e. row), and which other base chains filter on the same hooks.
//
// Both sides are read back from a kernel as nft prints them: the live ruleset
// from the calling thread's namespace, the expected one after loading the
// compiled text into a private, empty network namespace. Comparing the kernel's
// own listings avoids re-implementing nft's canonical form (set merging,
// expression folding, how each version prints them).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "portmatrix/diag.hpp"
#include "portmatrix/model.hpp"

namespace portmatrix::drift {

// One rule as the kernel lists it.
struct NftRule {
  std::string family, table, chain;
  std::uint64_t handle = 0;
  std::string comment;   // "" when the rule has none; row_comment() of the row id for rules portmatrix writes
  nlohmann::json expr;   // the expressions, counter values zeroed
  std::string text;      // nft's text of the rule without counter values, "" when unknown
};

// One chain; a base chain has a hook.
struct NftChain {
  std::string family, table, name;
  std::string type, hook, policy;  // empty for a regular chain
  int priority = 0;
  bool base() const { return !hook.empty(); }
};

// A named set (the elements sorted, so equal contents compare equal).
struct NftSet {
  std::string family, table, name;
  nlohmann::json body;  // everything but the handle
};

struct NftTable {
  std::string family, name;
  bool dormant = false;  // `flags dormant`: loaded but not filtering
};

struct NftRuleset {
  std::vector<NftTable> tables;
  std::vector<NftChain> chains;
  std::vector<NftSet> sets;
  std::vector<NftRule> rules;  // in chain order, as listed

  const NftTable* find_table(std::string_view family, std::string_view name) const;
  const NftSet* find_set(std::string_view family, std::string_view table, std::string_view name) const;
};

// Parses `nft -j list ruleset` (or a table listing). Errors on text that is not nft's JSON.
Expected<NftRuleset> parse_json(std::string_view json);
// Adds rule texts and table flags from `nft -a list ruleset` text of the same ruleset (matched by handle).
void attach_text(NftRuleset& rs, std::string_view listing_with_handles);

// The ruleset of the calling thread's network namespace.
Expected<NftRuleset> read_live();
// The ruleset the compiled nftables text gives, read back from a private empty
// network namespace (needs CAP_SYS_ADMIN); only `table inet portmatrix` is kept.
Expected<NftRuleset> read_expected(std::string_view nft_text);

enum class DiffKind : std::uint8_t {
  table_dormant,  // the table is loaded but switched off
  chain_missing,
  chain_extra,
  chain_changed,  // type, hook, priority or policy
  rule_missing,
  rule_extra,
  rule_changed,   // a rule of the same chain and row that differs (a missing and an extra one paired)
  rule_order,
  set_missing,
  set_extra,
  set_changed,
};
std::string_view to_string(DiffKind k);

// One way the loaded `table inet portmatrix` differs from the compiled one.
struct Difference {
  DiffKind kind = DiffKind::rule_missing;
  std::string chain;     // the chain (or set) concerned
  std::string row;       // the rule's comment when it has one (row_of_comment() gives the row id)
  std::string expected;  // nft text of the expected rule / chain header / set, when there is one
  std::string found;     // nft text of the live one
  std::string message;   // one line for people
  const NftRule* live_rule = nullptr;      // the live rule concerned (extra, changed, order), into the live ruleset
  const NftRule* expected_rule = nullptr;  // the compiled rule concerned (missing, changed), into the expected ruleset
};

// Another base chain on the input or output hook (families inet, ip, ip6).
struct ForeignChain {
  NftChain chain;
  std::size_t rules = 0;          // rules reachable from it, through jump and goto
  bool drops = false;             // a reachable drop/reject/queue verdict, or policy drop
  bool accepts = false;           // a reachable accept verdict
  std::vector<const NftRule*> dropping;  // the reachable rules that can drop, into the live ruleset
  std::string consequence;        // what it means next to portmatrix's chain, for people
  bool dormant = false;           // its table is dormant: it filters nothing
};

// The verdicts a rule can reach (inside verdict maps too); jumps and gotos are not followed.
struct Verdicts {
  bool drop = false;    // drop, reject, queue (and iptables-nft DROP/REJECT/NFQUEUE targets)
  bool accept = false;
  std::vector<std::string> jumps;  // chains it jumps or goes to
};
Verdicts verdicts_of(const NftRule& rule);

struct Comparison {
  bool table_present = false;
  bool dormant = false;
  std::vector<Difference> differences;
  std::vector<ForeignChain> foreign;
  bool matches() const { return table_present && differences.empty(); }
};

// Compares the live ruleset with the expected one. Pointers in the result point
// into both, which must outlive it (moving them keeps the pointers valid).
Comparison compare(const NftRuleset& expected, const NftRuleset& live);

// Whether a rule may match a new connection to `port` over `protocol`: false only
// when one of its port or protocol matches excludes it (other matches, such as
// addresses and interfaces, are assumed to match). Named sets are looked up in rs.
bool may_match_port(const NftRule& rule, const NftRuleset& rs, Protocol protocol, std::uint16_t port);

}  // namespace portmatrix::drift
