// Whole-file fuzzing of the capture reader, and of everything behind it: each
// frame is decoded and tracked, as replay does.
#include <cstddef>
#include <cstdint>

#include "portmatrix/capture.hpp"
#include "portmatrix/conntrack.hpp"
#include "portmatrix/decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portmatrix;
  auto reader = CaptureReader::from_memory({data, size});
  if (!reader) return 0;
  DecoderOptions dopt;
  dopt.fragment_capacity = 16;
  Decoder decoder(dopt);
  ConntrackOptions copt;
  copt.max_entries = 8;  // small, so eviction runs too
  Conntrack table(copt, [](const Connection&) {});
  Frame f;
  DecodedPacket p;
  while (reader->next(f)) {
    PM_ASSERT(f.caplen == 0 || f.data != nullptr, "frame without data");
    PM_ASSERT(f.origlen >= f.caplen, "origlen below caplen");
    decoder.decode(f, p);
    table.add(p, f.ts_ns, f.interface);
  }
  table.finish();
  PM_ASSERT(reader->stats().file_bytes <= size, "read past the end");
  return 0;
}
