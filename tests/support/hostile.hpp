// A matrix and site whose every name and text is hostile (quotes, newlines, ';',
// '!', '#', braces, very long and non-ASCII strings), bound to the same policy
// as the plain case: backends must render both with the same meaning.
#pragma once
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "portmatrix/site.hpp"
#include "support/testing.hpp"

namespace pmtest {

// Text that would end a quoted string, a line, a statement or a block in each
// target's syntax, and start a comment.
inline const std::string kEvil =
    "x\" accept; }\n}\ntable inet evil { chain c { type filter hook input priority -500; policy accept; } }\n"
    "-A INPUT -j ACCEPT\n!\nend\nexit\npermit ip any any\n<rule><accept/></rule>]]>&amp;'\r\t# {;}' \u00e9\u65e5 ";

struct HostilePair {
  portmatrix::LoadedPolicy plain;
  portmatrix::Policy hostile;
};

// Loads tests/golden/cases/<name>.yaml and the same case with every system
// name, row id, description, application, note, matrix name and title replaced
// by hostile text. Fails the calling test when either does not bind.
inline HostilePair hostile_pair(const std::string& name) {
  using namespace portmatrix;
  HostilePair out;
  auto plain = load_policy("", source_path("tests/golden/cases/" + name + ".yaml"));
  EXPECT_TRUE(plain) << (plain.diags.items().empty() ? "" : plain.diags.items()[0].format());
  if (!plain) return out;
  out.plain = *plain.value;
  Matrix m = out.plain.matrix;
  Site s = out.plain.site;
  std::map<std::string, std::string> rename, row_of;
  int i = 0;
  for (auto& sys : m.systems) {
    std::string n = kEvil + std::to_string(i++) + std::string(300, 'z');
    rename[sys.name] = n;
    sys.description = kEvil + std::string(300, 'd');
    sys.name = n;
  }
  for (auto& f : m.flows) {
    for (auto& n : f.sources) n = rename[n];
    for (auto& n : f.destinations) n = rename[n];
    f.description = kEvil + std::string(300, 'q');
    f.application = kEvil;
    std::string id = "row" + std::to_string(i++) + kEvil;
    row_of[f.id] = id;
    f.id = id;
  }
  m.name = kEvil;
  m.title = kEvil;
  for (auto& n : m.notes) n.text = kEvil;
  std::map<std::string, FlowOverride, std::less<>> flows;
  for (auto& [id, o] : s.flows) flows[row_of[id]] = o;
  s.flows = flows;
  for (auto& sys : s.systems) sys.name = rename[sys.name];
  for (auto& iface : s.interfaces)
    for (auto& n : iface.systems) n = rename[n];
  s.host = rename[s.host];
  auto hostile = bind_policy(m, s);
  EXPECT_TRUE(hostile) << (hostile.diags.items().empty() ? "" : hostile.diags.items()[0].format());
  if (!hostile) return out;
  out.hostile = *hostile.value;
  EXPECT_EQ(out.hostile.rules.size(), out.plain.policy.rules.size());
  return out;
}

}  // namespace pmtest
