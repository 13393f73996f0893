// Small helpers for reading YAML documents with yaml-cpp and reporting every
// problem with file:line:column. Shared by the matrix and site readers.
#pragma once
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "portmatrix/diag.hpp"

namespace portmatrix::yamlio {

class Reader {
 public:
  Reader(std::string_view file, Diagnostics& diags) : file_(file), diags_(diags) {}

  // Parses text into a document, reporting syntax errors. Then checks the whole
  // document: every text is UTF-8 without control or invisible characters
  // (text::problem), no mapping repeats a key, and it has at most kMaxNodes
  // nodes counting each use of an alias (so an alias bomb is refused, not
  // expanded). Returns nullopt, having reported every problem, on failure.
  std::optional<YAML::Node> load(std::string_view text);
  static constexpr std::size_t kMaxNodes = 1'000'000;

  SourceLoc loc(const YAML::Node& n) const;
  void error(const YAML::Node& n, std::string message) { diags_.error(loc(n), std::move(message)); }
  void warning(const YAML::Node& n, std::string message) { diags_.warning(loc(n), std::move(message)); }
  Diagnostics& diags() { return diags_; }
  const std::string& file() const { return file_; }

  // Checks n is a mapping whose keys are all in allowed (load() has checked they are unique), and that every
  // key in required is present. Reports each problem; returns false if n is not a map.
  bool check_map(const YAML::Node& n, std::string_view what, const std::set<std::string, std::less<>>& allowed,
                 const std::set<std::string, std::less<>>& required = {});

  // Typed accessors: report a problem (naming the key) and return nullopt on a wrong type.
  // string: a name or value, one line. prose: a description or note, which may
  // hold line breaks and tabs, or be null (empty).
  std::optional<std::string> string(const YAML::Node& n, std::string_view key);
  std::optional<std::string> prose(const YAML::Node& n, std::string_view key);
  std::optional<bool> boolean(const YAML::Node& n, std::string_view key);
  std::optional<long long> integer(const YAML::Node& n, std::string_view key);
  std::optional<std::vector<std::string>> string_list(const YAML::Node& n, std::string_view key);

 private:
  bool check_document(const YAML::Node& root, std::string_view text);
  // Whether the quoted scalar n (if it is one) has its closing quote in text.
  bool check_closed(const YAML::Node& n, std::string_view text);
  // Reports n's text if it is not one line of text; returns whether it is.
  bool one_line(const YAML::Node& n, std::string_view key);

  std::string file_;
  std::set<std::size_t> closed_checked_;  // marks of quoted scalars check_closed has seen
  Diagnostics& diags_;
};

// Quotes text as a YAML double-quoted scalar when needed, for hand-built output.
std::string display(const YAML::Node& n);

}  // namespace portmatrix::yamlio
