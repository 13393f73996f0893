// The packet engine's pipeline, on which replay and learn are built: capture
// files are read in order as one stream, each frame decoded and fed to the
// connection table, and each finished connection handed to the caller. Memory is
// bounded by the reader's buffer and the table size, not by the captures.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "portmatrix/capture.hpp"
#include "portmatrix/conntrack.hpp"
#include "portmatrix/decode.hpp"

namespace portmatrix {

struct EngineOptions {
  CaptureOptions capture;
  // Later fragments that come before their first are held and tracked once it comes.
  DecoderOptions decoder{.early_fragments = 256};
  ConntrackOptions conntrack;
};

// What one capture file held.
struct CaptureSummary {
  std::string name;
  CaptureFormat format = CaptureFormat::pcap;
  CaptureStats stats;
};

// An interface of one of the captures; Connection::interface indexes EngineReport::interfaces.
struct EngineInterface {
  std::size_t capture = 0;  // index into EngineReport::captures
  CaptureInterface interface;
};

struct EngineReport {
  std::vector<CaptureSummary> captures;
  std::vector<EngineInterface> interfaces;
  DecoderStats decoder;
  ConntrackStats conntrack;
};

// Sees every frame with its decoding and conntrack state (optional; for per-packet consumers).
// A fragment held for its first fragment is seen with CtState::invalid; it is
// tracked, unseen, when released.
using PacketHook = std::function<void(const Frame&, const DecodedPacket&, CtState)>;
// Told the bytes read so far of the current capture and its size (0 when unknown, e.g. a pipe).
using ProgressHook = std::function<void(std::size_t capture, std::uint64_t done, std::uint64_t total)>;

// Runs the captures through decoder and conntrack; sink gets every connection once,
// those still open at the end last. A capture that cannot be opened is an Error
// (nothing after it is read); damage inside a capture is counted in the report.
Expected<EngineReport> track_captures(const std::vector<std::string>& paths, const EngineOptions& options,
                                      const Conntrack::Sink& sink, const PacketHook& on_packet = {},
                                      const ProgressHook& on_progress = {});

}  // namespace portmatrix
