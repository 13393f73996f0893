// libFuzzer target for the firewall's state file (state.json): damage is an
// error, never an abort or undefined behaviour, and a state that reads writes
// text that reads back to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "portmatrix/hostfw.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto s = portmatrix::hostfw::parse_state(input, "state.json");
  if (!s) return 0;
  // Text that is not UTF-8 is written as U+FFFD, so compare from the first rewrite on.
  const std::string once = portmatrix::hostfw::state_text(*s);
  auto back = portmatrix::hostfw::parse_state(once, "state.json");
  if (!back || portmatrix::hostfw::state_text(*back) != once) std::abort();
  return 0;
}
