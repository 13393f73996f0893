// libFuzzer target: the site reader and the binder must never crash, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "portmatrix/matrix_io.hpp"
#include "portmatrix/site.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const portmatrix::Matrix cms = *portmatrix::load_matrix("cms-r20").value;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto site = portmatrix::read_site_yaml(text, "fuzz.yaml");
  if (site) {
    auto policy = portmatrix::bind_policy(cms, *site.value);
    (void)policy;
  }
  return 0;
}
