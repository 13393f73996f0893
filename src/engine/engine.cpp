#include "portmatrix/engine.hpp"

#include <sys/stat.h>

#include <deque>
#include <vector>

namespace portmatrix {

namespace {
// How often (in frames) the progress hook is told.
constexpr std::uint64_t kProgressEvery = 1 << 16;

std::uint64_t file_size(const std::string& path) {
  struct stat st{};
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}
}  // namespace

Expected<EngineReport> track_captures(const std::vector<std::string>& paths, const EngineOptions& options,
                                      const Conntrack::Sink& sink, const PacketHook& on_packet,
                                      const ProgressHook& on_progress) {
  EngineReport report;
  Decoder decoder(options.decoder);
  Conntrack table(options.conntrack, sink);
  // Frames are read and decoded in batches, so that the table lookups of a batch
  // overlap (Conntrack::add_batch); with a per-packet hook, each is tracked as it is decoded.
  constexpr std::size_t kBatch = 32;
  std::vector<Frame> frames(kBatch);
  std::vector<DecodedPacket> packets(kBatch);
  std::vector<TrackInput> batch;
  batch.reserve(kBatch);
  // Fragments the decoder held back and now releases, tracked right after the
  // frame that released them (a deque: the batch points into it).
  std::vector<Decoder::Released> released;
  std::deque<DecodedPacket> released_packets;
  // Each released packet is tracked as if it came now: after the frame just decoded.
  auto take_released = [&](std::int64_t now_ns, std::size_t itf_base, bool flush) {
    released.clear();
    decoder.take_released(now_ns, released, flush);
    for (const auto& r : released) {
      if (on_packet) {
        table.add(r.packet, r.ts_ns, static_cast<std::uint32_t>(itf_base) + r.interface);
      } else {
        released_packets.push_back(r.packet);
        batch.push_back({&released_packets.back(), r.ts_ns, static_cast<std::uint32_t>(itf_base) + r.interface});
      }
    }
  };
  for (std::size_t ci = 0; ci < paths.size(); ++ci) {
    auto reader = CaptureReader::open(paths[ci], options.capture);
    if (!reader) return reader.error();
    std::uint64_t total = file_size(paths[ci]);
    // Interfaces are numbered across all captures; pcapng files may add them as they go.
    std::uint32_t first_itf = static_cast<std::uint32_t>(report.interfaces.size());
    std::uint64_t n = 0;
    while (std::size_t got = reader->next_batch(frames)) {
      batch.clear();
      released_packets.clear();
      for (std::size_t i = 0; i < got; ++i) {
        const Frame& frame = frames[i];
        DecodedPacket& packet = packets[i];
        decoder.decode(frame, packet);
        // Only while fragments wait for their first fragment (rare) is there more to do.
        const bool pending = decoder.pending();
        const bool held = pending && decoder.held_last();
        if (on_packet) {
          on_packet(frame, packet, held ? CtState::invalid : table.add(packet, frame.ts_ns, first_itf + frame.interface));
        } else if (!held) {
          batch.push_back({&packet, frame.ts_ns, first_itf + frame.interface});
        }
        if (pending) [[unlikely]]
          take_released(frame.ts_ns, first_itf, false);
      }
      if (!on_packet) table.add_batch({batch.data(), batch.size()});
      if (on_progress && (n + got) / kProgressEvery != n / kProgressEvery)
        on_progress(ci, reader->stats().file_bytes, total);
      n += got;
    }
    // Fragments still waiting for their first fragment at the end of a capture are orphans.
    if (decoder.pending()) {
      batch.clear();
      released_packets.clear();
      take_released(0, first_itf, true);
      if (!on_packet) table.add_batch({batch.data(), batch.size()});
    }
    if (on_progress) on_progress(ci, reader->stats().file_bytes, total);
    for (const auto& itf : reader->interfaces()) report.interfaces.push_back({ci, itf});
    report.captures.push_back({reader->name(), reader->format(), reader->stats()});
  }
  table.finish();
  report.decoder = decoder.stats();
  report.conntrack = table.stats();
  return report;
}

}  // namespace portmatrix
