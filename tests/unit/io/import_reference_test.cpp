// Imports the vendor's own document (../shared/reference/cms-r20-port-matrix.txt)
// and checks it against the bundled matrix, fact by fact; then checks that the
// CSV and Markdown renderings of the same table (tests/data/import/) import to
// the same facts as the text.
//
// Facts that must match the bundled matrix exactly: the systems of each row (as
// sets: order carries no meaning), source and destination ports including the
// ephemeral and configurable markers, protocols (unknown stays unknown),
// optional, state, when_firewalled, addon, symmetric and note references; the
// declared systems; the note ids; component interfaces. Allowed to differ in
// wording: ids, descriptions, note texts, the application name (the bundled
// matrix names an application where the vendor wrote only "TCP", so an imported
// application must be contained in the bundled one, ignoring case) and component
// names (compared ignoring case, hyphens and the vendor's "Avaya " prefix).
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "io/import/util.hpp"
#include "portmatrix/fileio.hpp"
#include "portmatrix/import.hpp"
#include "portmatrix/matrix_io.hpp"
#include "support/testing.hpp"

using namespace portmatrix;

namespace {

const std::string kReference = std::string(PM_SOURCE_DIR) + "/../shared/reference/cms-r20-port-matrix.txt";

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

std::string fold_component(std::string_view name) {
  std::string s = importer::lower(name);
  std::replace(s.begin(), s.end(), '-', ' ');
  if (s.rfind("avaya ", 0) == 0) s.erase(0, 6);
  return s;
}

// Pairs flows by what they connect: destination systems and ports (unique in Table 1).
const Flow* counterpart(const Matrix& m, const Flow& f) {
  const Flow* found = nullptr;
  for (const auto& g : m.flows) {
    if (as_set(g.destinations) == as_set(f.destinations) && g.destination_ports.ports == f.destination_ports.ports) {
      EXPECT_EQ(found, nullptr) << "two flows to " << f.destination_ports.to_string();
      found = &g;
    }
  }
  return found;
}

Matrix import_file(const std::string& path, ImportFormat format) {
  auto text = slurp(path);
  EXPECT_TRUE(text) << path;
  ImportOptions strict;
  strict.strict = true;
  auto parsed = import_table(text.value_or(""), path, format, strict);
  for (const auto& d : parsed.diags.items())
    EXPECT_EQ(d.severity, Severity::note) << d.format();
  EXPECT_TRUE(parsed) << path;
  return parsed.value.value_or(Matrix{});
}

}  // namespace

TEST(ImportReference, MatchesTheBundledMatrixOnEveryFact) {
  PM_REQUIRE(slurp(kReference).has_value(), "the reference document is missing: " + kReference);
  Matrix imported = import_file(kReference, ImportFormat::automatic);
  auto bundled = load_matrix("cms-r20");
  ASSERT_TRUE(bundled);
  const Matrix& b = *bundled.value;

  ASSERT_EQ(imported.flows.size(), b.flows.size());
  std::set<const Flow*> used;
  for (const auto& want : b.flows) {
    SCOPED_TRACE("bundled flow " + want.id);
    const Flow* got = counterpart(imported, want);
    ASSERT_NE(got, nullptr);
    EXPECT_TRUE(used.insert(got).second) << "imported flow " << got->id << " matched twice";
    EXPECT_EQ(as_set(got->sources), as_set(want.sources));
    EXPECT_EQ(as_set(got->destinations), as_set(want.destinations));
    EXPECT_EQ(got->source_ports, want.source_ports) << got->source_ports.to_string();
    EXPECT_EQ(got->destination_ports, want.destination_ports) << got->destination_ports.to_string();
    EXPECT_EQ(got->protocols, want.protocols);
    EXPECT_EQ(got->optional, want.optional);
    EXPECT_EQ(got->state, want.state);
    EXPECT_EQ(got->when_firewalled, want.when_firewalled);
    EXPECT_EQ(got->addon, want.addon);
    EXPECT_EQ(got->symmetric, want.symmetric);
    EXPECT_EQ(got->notes, want.notes);
    EXPECT_NE(importer::lower(want.application).find(importer::lower(got->application)), std::string::npos)
        << "imported application '" << got->application << "', bundled '" << want.application << "'";
    EXPECT_EQ(got->origin.file, kReference);
    EXPECT_GT(got->origin.line, 0);
  }

  std::set<std::string> want_systems, got_systems;
  for (const auto& s : b.systems) want_systems.insert(s.name);
  for (const auto& s : imported.systems) got_systems.insert(s.name);
  EXPECT_EQ(got_systems, want_systems);

  std::vector<int> want_notes, got_notes;
  for (const auto& n : b.notes) want_notes.push_back(n.id);
  for (const auto& n : imported.notes) {
    got_notes.push_back(n.id);
    EXPECT_FALSE(n.text.empty());
  }
  EXPECT_EQ(got_notes, want_notes);

  ASSERT_EQ(imported.components.size(), b.components.size());
  for (std::size_t i = 0; i < b.components.size(); ++i) {
    EXPECT_EQ(fold_component(imported.components[i].name), fold_component(b.components[i].name));
    EXPECT_EQ(imported.components[i].interfaces, b.components[i].interfaces) << b.components[i].name;
  }
}

TEST(ImportReference, RowsKeepTheirSourceLine) {
  auto text = slurp(kReference);
  PM_REQUIRE(text.has_value(), "the reference document is missing: " + kReference);
  Matrix m = import_file(kReference, ImportFormat::text);
  // Each flow's origin is the line its row is on, found here independently.
  std::vector<std::string> lines;
  std::istringstream in(*text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  for (const auto& f : m.flows) {
    ASSERT_GT(f.origin.line, 0);
    ASSERT_LE(std::size_t(f.origin.line), lines.size());
    const std::string& row = lines[std::size_t(f.origin.line) - 1];
    EXPECT_EQ(std::count(row.begin(), row.end(), '\t'), 7) << f.id << ": " << row;
    EXPECT_NE(row.find(f.destination_ports.ports.ranges().front().lo == 0 ? "Any"
                                                                          : std::to_string(f.destination_ports.ports.ranges().front().lo)),
              std::string::npos)
        << f.id << ": " << row;
    EXPECT_EQ(f.origin.column, 1);
  }
}

TEST(ImportReference, ReadsBackFromYaml) {
  PM_REQUIRE(slurp(kReference).has_value(), "the reference document is missing: " + kReference);
  Matrix m = import_file(kReference, ImportFormat::text);
  auto again = read_matrix_yaml(write_matrix_yaml(m), "imported.yaml");
  ASSERT_TRUE(again);
  ASSERT_EQ(again.value->flows.size(), m.flows.size());
  for (std::size_t i = 0; i < m.flows.size(); ++i) EXPECT_TRUE(again.value->flows[i].same_facts(m.flows[i]));
}

class ImportRenderings : public testing::TestWithParam<const char*> {};

TEST_P(ImportRenderings, SameFactsAsTheText) {
  PM_REQUIRE(slurp(kReference).has_value(), "the reference document is missing: " + kReference);
  Matrix text = import_file(kReference, ImportFormat::text);
  Matrix other = import_file(pmtest::source_path(GetParam()), ImportFormat::automatic);
  ASSERT_EQ(other.flows.size(), text.flows.size());
  for (std::size_t i = 0; i < text.flows.size(); ++i) {
    EXPECT_TRUE(other.flows[i].same_facts(text.flows[i])) << "row " << i << ": " << text.flows[i].id;
    EXPECT_EQ(other.flows[i].id, text.flows[i].id);
  }
  EXPECT_EQ(other.systems, text.systems);
  EXPECT_EQ(other.components, text.components);
  EXPECT_EQ(other.notes, text.notes);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ImportRenderings,
                         testing::Values("tests/data/import/cms-r20.csv", "tests/data/import/cms-r20.md"));
