// Fuzzing the ClassBench rule and trace readers, and every classifier variant
// behind them against the linear scan.
#include "classbench_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pmfuzz::run_classbench(data, size);
  return 0;
}
