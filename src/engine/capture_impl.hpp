// What the pcap and pcapng readers share: the byte source, the interfaces, the
// statistics, and how an issue is recorded.
#pragma once
#include <memory>
#include <string>

#include "engine/byte_source.hpp"
#include "portmatrix/capture.hpp"

namespace portmatrix {

struct CaptureReader::Impl {
  ByteSource src;
  std::string name;
  CaptureFormat format = CaptureFormat::pcap;
  std::vector<CaptureInterface> interfaces;
  CaptureStats stats;

  Impl(ByteSource s, std::string n, CaptureFormat f) : src(std::move(s)), name(std::move(n)), format(f) {}
  virtual ~Impl() = default;
  // Reads the next packet; false at the end of the input.
  virtual bool next(Frame& frame) = 0;
  // Reads up to max packets (at least one unless the input ends) without
  // invalidating the earlier ones; returns how many.
  virtual std::size_t next_batch(Frame* frames, std::size_t max) { return max > 0 && next(frames[0]) ? 1 : 0; }

  void issue(CaptureIssueKind kind, std::uint64_t offset, std::string detail) {
    ++stats.issue_counts[static_cast<std::size_t>(kind)];
    if (stats.issues.size() < kMaxKeptIssues) stats.issues.push_back({kind, offset, std::move(detail)});
  }
  // Reports a record cut short by the end of the file and consumes what is left.
  void truncated_at_end(std::uint64_t offset, std::size_t have, std::uint64_t need, const char* what);
};

// Format readers. They read their file header from src; an unusable header is an Error.
Expected<std::unique_ptr<CaptureReader::Impl>> make_pcap_reader(ByteSource src, std::string name);
Expected<std::unique_ptr<CaptureReader::Impl>> make_pcapng_reader(ByteSource src, std::string name);

}  // namespace portmatrix
