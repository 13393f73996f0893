#include "io/yaml_util.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include <fmt/format.h>

#include "portmatrix/text.hpp"

namespace portmatrix::yamlio {

std::optional<YAML::Node> Reader::load(std::string_view text) {
  // yaml-cpp takes a NUL among the first bytes for UTF-16 or UTF-32 and decodes
  // the whole file so, reporting odd characters; a YAML stream never holds one.
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    std::string_view before = text.substr(0, nul);
    int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    auto bol = before.rfind('\n');
    int column = 1 + static_cast<int>(bol == std::string_view::npos ? nul : nul - bol - 1);
    diags_.error({file_, line, column}, "a NUL byte: YAML files are text (UTF-8)");
    return std::nullopt;
  }
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    SourceLoc l{file_, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0};
    diags_.error(l, fmt::format("YAML syntax: {}", e.msg));
    return std::nullopt;
  }
  if (!check_document(doc, text)) return std::nullopt;
  return doc;
}

// Depth first with an explicit stack (nesting depth costs no native stack),
// children pushed in reverse so that problems are reported in document order.
bool Reader::check_document(const YAML::Node& root, std::string_view text) {
  struct Item {
    YAML::Node node;
    std::string key;  // the key it is the value of (or an item of), for messages
  };
  std::vector<Item> stack{{root, ""}};
  std::size_t nodes = 0;
  bool ok = true;
  auto quoted = [](const std::string& key) { return key.empty() ? std::string("text") : fmt::format("'{}'", key); };
  while (!stack.empty()) {
    Item it = std::move(stack.back());
    stack.pop_back();
    if (++nodes > kMaxNodes) {
      error(root, fmt::format("the document has more than {} nodes (counting every use of an alias)", kMaxNodes));
      return false;
    }
    const YAML::Node& n = it.node;
    if (n.IsScalar()) {
      if (!check_closed(n, text)) ok = false;
      if (auto p = text::problem(n.Scalar(), text::Kind::prose)) {
        error(n, fmt::format("{} {}", quoted(it.key), *p));
        ok = false;
      }
    } else if (n.IsSequence()) {
      std::vector<Item> items;
      for (const auto& child : n) items.push_back({child, it.key});
      for (auto i = items.rbegin(); i != items.rend(); ++i) stack.push_back(std::move(*i));
    } else if (n.IsMap()) {
      std::set<std::string, std::less<>> seen;
      std::vector<Item> items;
      for (const auto& kv : n) {
        std::string key;
        if (kv.first.IsScalar()) {
          if (!check_closed(kv.first, text)) ok = false;
          key = kv.first.Scalar();
          if (auto p = text::problem(key, text::Kind::line)) {
            error(kv.first, fmt::format("key {}", *p));
            ok = false;
            key.clear();
          } else if (!seen.insert(key).second) {
            error(kv.first, fmt::format("duplicate key '{}'", key));
            ok = false;
          }
        } else {
          items.push_back({kv.first, it.key});
        }
        items.push_back({kv.second, key});
      }
      for (auto i = items.rbegin(); i != items.rend(); ++i) stack.push_back(std::move(*i));
    }
  }
  return ok;
}

// yaml-cpp accepts a quoted scalar whose closing quote is missing when a line
// break comes before the end of the file ("text: \"hi" + newline reads as "hi ").
// Its mark is the opening quote: scanning from there for the closing one costs
// the scalar's length, once per scalar (a node reached again through an alias
// has the same mark and is skipped).
bool Reader::check_closed(const YAML::Node& n, std::string_view text) {
  if (n.Tag() != "!") return true;  // plain scalars have tag "?"; quoted and block ones "!"
  YAML::Mark m = n.Mark();
  // Marks count from after a byte order mark.
  std::size_t bom = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
  if (m.is_null() || m.pos < 0 || static_cast<std::size_t>(m.pos) + bom >= text.size()) return true;
  auto start = static_cast<std::size_t>(m.pos) + bom;
  char quote = text[start];
  if (quote != '"' && quote != '\'') return true;  // a block scalar
  if (!closed_checked_.insert(start).second) return true;
  for (std::size_t i = start + 1; i < text.size(); ++i) {
    char c = text[i];
    if (quote == '"' && c == '\\') {
      ++i;  // an escape: the next character is part of it
    } else if (c == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' is a quote inside single quotes
      } else {
        return true;
      }
    }
  }
  error(n, fmt::format("quoted text without its closing {}", quote));
  return false;
}

bool Reader::one_line(const YAML::Node& n, std::string_view key) {
  auto p = text::problem(n.Scalar(), text::Kind::line);
  if (p) error(n, fmt::format("'{}' {}", key, *p));
  return !p;
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
    seen.insert(k);
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

std::optional<std::string> Reader::string(const YAML::Node& n, std::string_view key) {
  if (!n.IsScalar()) {
    error(n, fmt::format("'{}' must be a text value, found {}", key, display(n)));
    return std::nullopt;
  }
  if (!one_line(n, key)) return std::nullopt;
  return n.Scalar();
}

std::optional<std::string> Reader::prose(const YAML::Node& n, std::string_view key) {
  if (n.IsNull()) return std::string();
  if (!n.IsScalar()) {
    error(n, fmt::format("'{}' must be a text value, found {}", key, display(n)));
    return std::nullopt;
  }
  return n.Scalar();  // load() has checked it is text
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
    if (!one_line(item, key)) {
      ok = false;
      continue;
    }
    out.push_back(item.Scalar());
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace portmatrix::yamlio
