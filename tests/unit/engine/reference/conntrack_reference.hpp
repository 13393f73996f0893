// A frozen copy of the connection table as it was before the performance work
// of 2026-11 (commit 832cb56), kept as the oracle of the differential tests in
// tests/unit/engine/equivalence_test.cpp: the library's table must report the
// same connections, in the same order, with the same states and counters.
// Do not optimise or fix this copy; it is the "before".
#pragma once
#include <memory>
#include <span>

#include "portmatrix/conntrack.hpp"

namespace pmref {

class Conntrack {
 public:
  using Sink = portmatrix::Conntrack::Sink;
  Conntrack(portmatrix::ConntrackOptions options, Sink sink);
  Conntrack(Conntrack&&) noexcept;
  ~Conntrack();

  portmatrix::CtState add(const portmatrix::DecodedPacket& packet, std::int64_t ts_ns, std::uint32_t interface = 0);
  void add_batch(std::span<const portmatrix::TrackInput> packets, portmatrix::CtState* states = nullptr);
  void expire(std::int64_t now_ns);
  void finish();
  const portmatrix::ConntrackStats& stats() const;
  std::size_t size() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pmref
