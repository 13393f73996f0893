// Whole-file fuzzing of the capture reader, and of everything behind it: each
// frame is decoded and tracked, as replay does.
#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pmfuzz::run_capture(data, size);
  return 0;
}
