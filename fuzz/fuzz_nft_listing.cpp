// libFuzzer target for reading nft's listings: the JSON parser, the text listing
// (split at the first NUL byte of the input), and the comparison of the result
// with itself and with an empty ruleset.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "portmatrix/drift.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string_view json = input.substr(0, nul);
  const std::string_view text = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  auto rs = portmatrix::drift::parse_json(json);
  if (!rs) return 0;
  portmatrix::drift::attach_text(*rs, text);
  (void)portmatrix::drift::compare(*rs, *rs);
  (void)portmatrix::drift::compare(portmatrix::drift::NftRuleset{}, *rs);
  for (const auto& r : rs->rules) (void)portmatrix::drift::may_match_port(r, *rs, portmatrix::Protocol::tcp, 22);
  return 0;
}
