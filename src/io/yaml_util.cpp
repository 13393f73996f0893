#include "io/yaml_util.hpp"

#include <charconv>

#include <fmt/format.h>

namespace portmatrix::yamlio {

std::optional<YAML::Node> Reader::load(std::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    SourceLoc l{file_, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0};
    diags_.error(l, fmt::format("YAML syntax: {}", e.msg));
    return std::nullopt;
  }
}

SourceLoc Reader::loc(const YAML::Node& n) const {
  YAML::Mark m = n.Mark();
  if (m.is_null()) return {file_, 0, 0};
  return {file_, m.line + 1, m.column + 1};
}

std::string display(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "null";
  if (n.IsScalar()) {
    std::string s = n.Scalar();
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return fmt::format("'{}'", s);
  }
  if (n.IsSequence()) return "a list";
  return "a mapping";
}

bool Reader::check_map(const YAML::Node& n, std::string_view what, const std::set<std::string, std::less<>>& allowed,
                       const std::set<std::string, std::less<>>& required) {
  if (!n.IsMap()) {
    error(n, fmt::format("{} must be a mapping, found {}", what, display(n)));
    return false;
  }
  std::set<std::string, std::less<>> seen;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) {
      error(kv.first, fmt::format("{}: keys must be plain names", what));
      continue;
    }
    const std::string& k = kv.first.Scalar();
    if (!seen.insert(k).second) error(kv.first, fmt::format("{}: duplicate key '{}'", what, k));
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      error(kv.first, fmt::format("{}: unknown key '{}' (expected one of: {})", what, k, list));
    }
  }
  for (const auto& r : required)
    if (!seen.count(r)) error(n, fmt::format("{}: missing required key '{}'", what, r));
  return true;
}

std::optional<std::string> Reader::string(const YAML::Node& n, std::string_view key, bool allow_null) {
  if (allow_null && n.IsNull()) return std::string();
  if (!n.IsScalar()) {
    error(n, fmt::format("'{}' must be a text value, found {}", key, display(n)));
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<bool> Reader::boolean(const YAML::Node& n, std::string_view key) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "yes") return true;
    if (s == "false" || s == "no") return false;
  }
  error(n, fmt::format("'{}' must be true or false, found {}", key, display(n)));
  return std::nullopt;
}

std::optional<long long> Reader::integer(const YAML::Node& n, std::string_view key) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return v;
  }
  error(n, fmt::format("'{}' must be an integer, found {}", key, display(n)));
  return std::nullopt;
}

std::optional<std::vector<std::string>> Reader::string_list(const YAML::Node& n, std::string_view key) {
  if (!n.IsSequence()) {
    error(n, fmt::format("'{}' must be a list, found {}", key, display(n)));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& item : n) {
    if (!item.IsScalar()) {
      error(item, fmt::format("'{}' items must be text values, found {}", key, display(item)));
      ok = false;
      continue;
    }
    out.push_back(item.Scalar());
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace portmatrix::yamlio
