#include "portmatrix/site_edit.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace portmatrix {

namespace {

struct Text {
  std::string s;
  // Byte offset of a 0-based line and column.
  std::size_t offset(int line, int column) const {
    std::size_t pos = 0;
    for (int l = 0; l < line && pos != std::string::npos; ++l) {
      pos = s.find('\n', pos);
      if (pos != std::string::npos) ++pos;
    }
    return pos == std::string::npos ? s.size() : pos + static_cast<std::size_t>(column);
  }
  std::size_t line_end(std::size_t pos) const {
    auto e = s.find('\n', pos);
    return e == std::string::npos ? s.size() : e;
  }
};

// The end of the YAML value written at pos: a flow collection up to its closing
// bracket, a quoted scalar up to its quote, a plain scalar up to a comment or the line end.
std::size_t value_end(const std::string& s, std::size_t pos, std::size_t limit) {
  if (pos >= limit) return pos;
  char c = s[pos];
  if (c == '{' || c == '[') {
    int depth = 0;
    char quote = 0;
    for (std::size_t i = pos; i < limit; ++i) {
      char x = s[i];
      if (quote) {
        if (x == '\\' && quote == '"') ++i;
        else if (x == quote) quote = 0;
        continue;
      }
      if (x == '"' || x == '\'') quote = x;
      else if (x == '{' || x == '[') ++depth;
      else if ((x == '}' || x == ']') && --depth == 0) return i + 1;
    }
    return limit;
  }
  if (c == '"' || c == '\'') {
    for (std::size_t i = pos + 1; i < limit; ++i) {
      if (c == '"' && s[i] == '\\') ++i;
      else if (s[i] == c) return i + 1;
    }
    return limit;
  }
  std::size_t end = pos;
  while (end < limit && !(s[end] == '#' && end > pos && (s[end - 1] == ' ' || s[end - 1] == '\t'))) ++end;
  while (end > pos && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  return end;
}

// A one-line flow map with key set to value, keeping the other keys in order.
std::string flow_map_with(const YAML::Node& map, std::string_view key, std::string_view value) {
  YAML::Emitter e;
  e << YAML::Flow << YAML::BeginMap;
  bool done = false;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {  // not a key the site reader accepts, but kept as it is
      e << YAML::Key << kv.first << YAML::Value << kv.second;
      continue;
    }
    const std::string k = kv.first.Scalar();
    e << YAML::Key << k << YAML::Value;
    if (k == key) {
      e << YAML::Load(std::string(value));
      done = true;
    } else {
      e << kv.second;
    }
  }
  if (!done) e << YAML::Key << std::string(key) << YAML::Value << YAML::Load(std::string(value));
  e << YAML::EndMap;
  return e.c_str();
}

std::string single_entry(std::string_view key, std::string_view value) {
  YAML::Node n(YAML::NodeType::Map);
  return flow_map_with(n, key, value);
}

std::string yaml_key(std::string_view row) {
  YAML::Emitter e;
  e << std::string(row);
  return e.c_str();
}

}  // namespace

Expected<std::string> edit_site_flow(std::string_view text, std::string_view file, std::string_view row,
                                     std::string_view key, std::string_view value) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
    YAML::Load(std::string(value));
  } catch (const YAML::Exception& e) {
    return Error{Error::Kind::input, fmt::format("{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg)};
  }
  if (!root.IsMap()) return Error{Error::Kind::input, fmt::format("{}: a site file must be a mapping", file)};
  Text t{std::string(text)};
  if (!t.s.empty() && t.s.back() != '\n') t.s += '\n';

  // Default-constructed yaml-cpp nodes are defined nulls, so presence is tracked apart.
  YAML::Node flows_key, flows;
  bool has_flows = false;
  for (const auto& kv : root)
    if (kv.first.IsScalar() && kv.first.Scalar() == "flows") {
      flows_key = kv.first;
      flows = kv.second;
      has_flows = true;
    }
  if (!has_flows) {
    t.s += fmt::format("flows:\n  {}: {}\n", yaml_key(row), single_entry(key, value));
  } else if (flows.IsNull()) {
    std::size_t at = t.offset(flows_key.Mark().line, flows_key.Mark().column);
    std::size_t eol = t.line_end(at);
    t.s.insert(eol, fmt::format("\n  {}: {}", yaml_key(row), single_entry(key, value)));
  } else if (!flows.IsMap()) {
    return Error{Error::Kind::input, fmt::format("{}:{}:{}: 'flows' must be a mapping", file, flows.Mark().line + 1,
                                                 flows.Mark().column + 1)};
  } else {
    YAML::Node row_key, row_val;
    bool has_row = false;
    for (const auto& kv : flows)
      if (kv.first.IsScalar() && kv.first.Scalar() == row) {
        row_key = kv.first;
        row_val = kv.second;
        has_row = true;
      }
    const bool flow_style = flows.Style() == YAML::EmitterStyle::Flow;
    if (flow_style) {
      // flows: {a: {...}} on one line: rewrite the whole value.
      YAML::Node copy = YAML::Clone(flows);
      YAML::Node entry = has_row && row_val.IsMap() ? YAML::Clone(row_val) : YAML::Node(YAML::NodeType::Map);
      entry[std::string(key)] = YAML::Load(std::string(value));
      copy[std::string(row)] = entry;
      YAML::Emitter e;
      e << YAML::Flow << copy;
      std::size_t start = t.offset(flows.Mark().line, flows.Mark().column);
      t.s.replace(start, value_end(t.s, start, t.s.size()) - start, e.c_str());
    } else if (!has_row) {
      // A new line right under `flows:` (comments above existing entries stay with them),
      // indented like the first entry.
      const YAML::Node first = flows.begin()->first;
      std::size_t after = t.line_end(t.offset(flows_key.Mark().line, flows_key.Mark().column)) + 1;
      t.s.insert(after, fmt::format("{}{}: {}\n", std::string(static_cast<std::size_t>(first.Mark().column), ' '),
                                    yaml_key(row), single_entry(key, value)));
    } else if (row_val.IsNull()) {
      std::size_t at = t.offset(row_key.Mark().line, row_key.Mark().column);
      std::size_t colon = t.s.find(':', at);
      t.s.insert(colon + 1, " " + single_entry(key, value));
    } else if (!row_val.IsMap()) {
      return Error{Error::Kind::input, fmt::format("{}:{}:{}: flows.{} must be a mapping", file, row_val.Mark().line + 1,
                                                   row_val.Mark().column + 1, row)};
    } else if (row_val.Style() == YAML::EmitterStyle::Flow) {
      std::size_t start = t.offset(row_val.Mark().line, row_val.Mark().column);
      std::size_t end = value_end(t.s, start, t.s.size());
      t.s.replace(start, end - start, flow_map_with(row_val, key, value));
    } else {
      YAML::Node k_node, v_node;
      bool has_key = false;
      for (const auto& kv : row_val)
        if (kv.first.IsScalar() && kv.first.Scalar() == key) {
          k_node = kv.first;
          v_node = kv.second;
          has_key = true;
        }
      if (has_key) {
        std::size_t start = t.offset(v_node.Mark().line, v_node.Mark().column);
        if (v_node.IsNull()) start = t.s.find(':', t.offset(k_node.Mark().line, k_node.Mark().column)) + 1;
        std::size_t end = v_node.IsNull() ? start : value_end(t.s, start, t.line_end(start));
        t.s.replace(start, end - start, (v_node.IsNull() ? " " : "") + std::string(value));
      } else {
        const YAML::Node first = row_val.begin()->first;
        std::size_t line_start = t.offset(first.Mark().line, 0);
        t.s.insert(line_start,
                   fmt::format("{}{}: {}\n", std::string(static_cast<std::size_t>(first.Mark().column), ' '), key, value));
      }
    }
  }
  // Read the result back: the setting must hold the new value and nothing else may have moved.
  try {
    YAML::Node back = YAML::Load(t.s);
    YAML::Node want = YAML::Load(std::string(value));
    YAML::Node got = back["flows"][std::string(row)][std::string(key)];
    YAML::Emitter a, b;
    a << YAML::Flow << got;
    b << YAML::Flow << want;
    if (std::string(a.c_str()) != b.c_str()) throw YAML::Exception(YAML::Mark::null_mark(), "value did not land");
    for (const auto& kv : root)
      if (kv.first.Scalar() != "flows") {
        YAML::Emitter x, y;
        x << YAML::Flow << kv.second;
        y << YAML::Flow << back[kv.first.Scalar()];
        if (std::string(x.c_str()) != y.c_str()) throw YAML::Exception(YAML::Mark::null_mark(), "another key changed");
      }
  } catch (const YAML::Exception& e) {
    return Error{Error::Kind::internal, fmt::format("{}: could not edit flows.{}.{} safely ({}); edit the file by hand", file,
                                                    row, key, e.msg)};
  }
  return t.s;
}

}  // namespace portmatrix
