// libFuzzer target for the importer (all three layouts, the shared interpreter
// and the cell interpreter): crashes, sanitizer reports, and imported matrices
// that do not survive a YAML round trip (fuzz_checks.hpp).
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto why = pmfuzz::import_one({reinterpret_cast<const char*>(data), size});
  if (!why.empty()) {
    std::fprintf(stderr, "%s\n", why.c_str());
    std::abort();
  }
  return 0;
}
