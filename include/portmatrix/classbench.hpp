// ClassBench rule and trace files (the format of Taylor and Turner's ClassBench
// generators; ../shared/classbench/README.md): rules become classifier rules
// whose id is their 0-based index in the file, traces become keys.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "portmatrix/classifier.hpp"
#include "portmatrix/diag.hpp"

namespace portmatrix {

// A trace: one key per header line, and the generator's hint for each.
struct ClassBenchTrace {
  std::vector<ClassKey> keys;
  // The rule each header was generated from (7th column), or -1 when absent. It
  // matches the header, but an earlier rule may match first: it is not the answer.
  std::vector<std::int32_t> hints;
};

// Parses a rule file: "@SRC/LEN DST/LEN LO : HI LO : HI 0xPP/0xMM [0xFFFF/0xFFFF]"
// per line (TCP flags are checked and ignored); blank lines are skipped. Every
// bad line gets a diagnostic at FILE:LINE:COL (up to a limit, then a note).
Parsed<std::vector<ClassRule>> parse_classbench_rules(std::string_view text, std::string_view file);

// Parses a trace file: "SRC DST SPORT DPORT PROTO [FLAGS [HINT]]" per line, in
// decimal (addresses as unsigned 32-bit integers); blank lines are skipped.
Parsed<ClassBenchTrace> parse_classbench_trace(std::string_view text, std::string_view file);

}  // namespace portmatrix
