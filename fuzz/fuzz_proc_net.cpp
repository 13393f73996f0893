// libFuzzer target for the /proc/net/{tcp,tcp6,udp,udp6} parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "portmatrix/sockets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> errors;
  for (auto protocol : {portmatrix::Protocol::tcp, portmatrix::Protocol::udp})
    for (auto family : {portmatrix::Family::ipv4, portmatrix::Family::ipv6}) {
      for (const auto& l : portmatrix::sockets::parse_proc_net(text, protocol, family, &errors)) {
        (void)l.scope();
        (void)l.endpoint();
      }
    }
  return 0;
}
