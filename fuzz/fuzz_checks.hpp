// What the fuzz targets run on one input, shared with the test that replays the
// kept crash inputs (tests/unit/io/fuzz_regression_test.cpp). Each function
// returns an empty string, or a description of a broken invariant.
#pragma once
#include <string>
#include <string_view>

#include "portmatrix/import.hpp"
#include "portmatrix/matrix_io.hpp"

namespace pmfuzz {

// A matrix written as YAML must read back with the same ids and facts.
inline std::string round_trip(const portmatrix::Matrix& m) {
  auto yaml = portmatrix::write_matrix_yaml(m);
  auto back = portmatrix::read_matrix_yaml(yaml, "round-trip.yaml");
  if (!back) {
    std::string why = "the matrix does not read back:";
    for (const auto& d : back.diags.items()) why += "\n  " + d.format();
    return why + "\n" + yaml;
  }
  if (back.value->flows.size() != m.flows.size()) return "flows lost in the round trip:\n" + yaml;
  for (std::size_t i = 0; i < m.flows.size(); ++i)
    if (!back.value->flows[i].same_facts(m.flows[i]) || back.value->flows[i].id != m.flows[i].id)
      return "flow " + m.flows[i].id + " changed in the round trip:\n" + yaml;
  return {};
}

// The importer, in every layout.
inline std::string import_one(std::string_view text) {
  (void)portmatrix::detect_import_format(text, "fuzz");
  for (auto format : {portmatrix::ImportFormat::text, portmatrix::ImportFormat::csv,
                      portmatrix::ImportFormat::markdown}) {
    auto parsed = portmatrix::import_table(text, "fuzz", format);
    if (parsed)
      if (auto why = round_trip(*parsed.value); !why.empty()) return std::string(to_string(format)) + ": " + why;
  }
  return {};
}

// The native YAML reader.
inline std::string matrix_yaml_one(std::string_view text) {
  auto parsed = portmatrix::read_matrix_yaml(text, "fuzz.yaml");
  return parsed ? round_trip(*parsed.value) : std::string();
}

}  // namespace pmfuzz
