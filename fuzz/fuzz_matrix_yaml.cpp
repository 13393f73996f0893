// libFuzzer target for the native YAML reader: crashes, sanitizer reports, and
// matrices that read without errors but do not survive a write and read back.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto why = pmfuzz::matrix_yaml_one({reinterpret_cast<const char*>(data), size});
  if (!why.empty()) {
    std::fprintf(stderr, "%s\n", why.c_str());
    std::abort();
  }
  return 0;
}
