// One packet per run: the first byte picks the link type, the rest is the frame.
// Decoded packets also go through connection tracking (ICMP quotes, fragments).
#include <cstddef>
#include <cstdint>

#include "portmatrix/conntrack.hpp"
#include "portmatrix/decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portmatrix;
  static constexpr std::uint16_t kLinkTypes[] = {linktype::ethernet, linktype::linux_sll, linktype::linux_sll2,
                                                 linktype::raw,      linktype::ipv4,      linktype::ipv6,
                                                 linktype::null,     linktype::loop};
  if (size < 1) return 0;
  std::uint16_t lt = kLinkTypes[data[0] % (sizeof kLinkTypes / sizeof kLinkTypes[0])];
  const std::uint8_t* frame = data + 1;
  auto len = static_cast<std::uint32_t>(size - 1);
  static Decoder decoder;  // kept across runs: the fragment table sees many packets
  static Conntrack table({}, [](const Connection&) {});
  DecodedPacket p;
  decoder.decode(lt, frame, len, len, 0, p);
  PM_ASSERT(p.opaque_offset <= len, "opaque payload starts past the frame");
  table.add(p, 0);
  return 0;
}
