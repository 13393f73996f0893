// One packet per run through every link type's decoder and into connection
// tracking (ICMP quotes, fragments); the first byte picks the link type.
#include "harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static portmatrix::Decoder decoder;  // kept across runs: the fragment table sees many packets
  static portmatrix::Decoder general(pmfuzz::general_decoder_options());
  static portmatrix::Conntrack table({}, [](const portmatrix::Connection&) {});
  pmfuzz::run_frame(decoder, general, table, data, size);
  return 0;
}
