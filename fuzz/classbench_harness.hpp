// What fuzz_classbench runs on one input, shared with the regression test that
// replays kept inputs (tests/regression/classbench/) in the ordinary test suite.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "portmatrix/classbench.hpp"
#include "portmatrix/classifier.hpp"

namespace pmfuzz {

// The input is a rule file, optionally followed by "\n%%\n" and a trace. Both
// parsers must return a value or errors (never crash); when the rules parse,
// every variant this CPU runs must agree with the linear scan on the trace's
// headers (or, without a trace, on headers at the rules' corners).
inline void run_classbench(const std::uint8_t* data, std::size_t size) {
  using namespace portmatrix;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = text.find("\n%%\n");
  const std::string_view rules_text = text.substr(0, cut);
  const std::string_view trace_text = cut == std::string_view::npos ? std::string_view() : text.substr(cut + 4);
  auto rules = parse_classbench_rules(rules_text, "rules");
  auto trace = parse_classbench_trace(trace_text, "trace");
  PM_ASSERT(rules.value.has_value() != rules.diags.has_errors(), "rules: a value exactly when there are no errors");
  PM_ASSERT(trace.value.has_value() != trace.diags.has_errors(), "trace: a value exactly when there are no errors");
  if (!rules || rules.value->size() > 512) return;  // keep each input quick

  std::vector<ClassKey> keys;
  if (trace) keys = trace.value->keys;
  for (const ClassRule& r : *rules.value) {
    ClassKey lo, hi;
    lo.src = r.src_lo, lo.dst = r.dst_lo, lo.sport = r.sport_lo, lo.dport = r.dport_lo, lo.proto = r.proto;
    hi.src = r.src_hi, hi.dst = r.dst_hi, hi.sport = r.sport_hi, hi.dport = r.dport_hi, hi.proto = r.proto;
    keys.push_back(lo);
    keys.push_back(hi);
  }
  if (keys.size() > 4096) keys.resize(4096);
  const auto linear = build_classifier(*rules.value, &classifier_variants().front());
  std::vector<std::int32_t> want(keys.size()), got(keys.size());
  linear->classify(keys, want);
  for (const ClassifierVariant& v : classifier_variants()) {
    if (!v.available()) continue;
    const auto c = build_classifier(*rules.value, &v);
    c->classify(keys, got);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      PM_ASSERT(got[i] == want[i], "a classifier variant disagrees with the linear scan (batch)");
      PM_ASSERT(c->classify(keys[i]) == want[i], "a classifier variant disagrees with the linear scan");
    }
  }
}

}  // namespace pmfuzz
