// What the fuzz targets run on one input, shared with the regression test that
// replays kept inputs (tests/regression/engine/) in the ordinary test suite.
#pragma once
#include <cstddef>
#include <cstdint>

#include "portmatrix/capture.hpp"
#include "portmatrix/conntrack.hpp"
#include "portmatrix/decode.hpp"

namespace pmfuzz {

// A whole capture file: read, decode and track every frame, as replay does.
// Returns the damage the reader reported (0 when the input is not a capture).
inline std::uint64_t run_capture(const std::uint8_t* data, std::size_t size) {
  using namespace portmatrix;
  auto reader = CaptureReader::from_memory({data, size});
  if (!reader) return 0;
  DecoderOptions dopt;
  dopt.fragment_capacity = 16;
  Decoder decoder(dopt);
  ConntrackOptions copt;
  copt.max_entries = 8;  // small, so eviction runs too
  Conntrack table(copt, [](const Connection&) {});
  // Packets go to the table in batches of three, as track_captures does (add_batch);
  // fuzz_decode covers add().
  Frame f;
  DecodedPacket packets[3];
  TrackInput batch[3];
  std::size_t pending = 0;
  std::size_t frames = 0;
  std::uint64_t captured = 0;
  while (reader->next(f)) {
    ++frames;
    captured += f.caplen;
    PM_ASSERT(f.caplen == 0 || f.data != nullptr, "frame without data");
    PM_ASSERT(f.origlen >= f.caplen, "origlen below caplen");
    PM_ASSERT(f.interface < reader->interfaces().size(), "frame names an unknown interface");
    decoder.decode(f, packets[pending]);
    PM_ASSERT(packets[pending].opaque_offset <= f.caplen, "opaque payload starts past the frame");
    batch[pending] = {&packets[pending], f.ts_ns, f.interface};
    if (++pending == 3) {
      table.add_batch({batch, pending});
      pending = 0;
    }
  }
  table.add_batch({batch, pending});
  table.finish();
  PM_ASSERT(reader->stats().file_bytes <= size, "read past the end");
  PM_ASSERT(table.size() == 0, "finish left connections behind");
  // Reading in batches (as track_captures does) gives the same frames and issues.
  auto again = CaptureReader::from_memory({data, size});
  PM_ASSERT(static_cast<bool>(again), "the second open failed");
  Frame chunk[5];
  std::size_t frames_batched = 0;
  std::uint64_t captured_batched = 0;
  for (std::size_t n; (n = again->next_batch(chunk)) != 0;) {
    frames_batched += n;
    for (std::size_t i = 0; i < n; ++i) captured_batched += chunk[i].caplen;
  }
  PM_ASSERT(frames_batched == frames && captured_batched == captured, "next_batch() and next() read different frames");
  PM_ASSERT(again->stats().total_issues() == reader->stats().total_issues(), "next_batch() and next() report different issues");
  return reader->stats().total_issues();
}

// A decoder without its fast path, to compare with one that has it.
inline portmatrix::DecoderOptions general_decoder_options() {
  portmatrix::DecoderOptions o;
  o.fast_path = false;
  return o;
}

// One frame: the first byte picks the link type, the rest is the frame. The
// decoders and table live across calls, so fragments and quotes meet earlier
// packets. decoder decodes with its fast path, general (made with
// general_decoder_options()) without; both must have seen the same frames.
inline void run_frame(portmatrix::Decoder& decoder, portmatrix::Decoder& general, portmatrix::Conntrack& table,
                      const std::uint8_t* data, std::size_t size) {
  using namespace portmatrix;
  static constexpr std::uint16_t kLinkTypes[] = {linktype::ethernet, linktype::linux_sll, linktype::linux_sll2,
                                                 linktype::raw,      linktype::ipv4,      linktype::ipv6,
                                                 linktype::null,     linktype::loop};
  PM_ASSERT(!general.options().fast_path, "the general decoder has its fast path on");
  if (size < 1) return;
  std::uint16_t lt = kLinkTypes[data[0] % (sizeof kLinkTypes / sizeof kLinkTypes[0])];
  auto len = static_cast<std::uint32_t>(size - 1);
  DecodedPacket p;
  decoder.decode(lt, data + 1, len, len, 0, p);
  PM_ASSERT(p.opaque_offset <= len, "opaque payload starts past the frame");
  // The decoder's fast path must agree with its general path on every frame.
  DecodedPacket g;
  general.decode(lt, data + 1, len, len, 0, g);
  PM_ASSERT(p == g, "the decoder's fast and general paths disagree");
  table.add(p, 0);
}

}  // namespace pmfuzz
