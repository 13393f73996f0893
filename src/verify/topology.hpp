// verify's plan of the test network: the host's addresses, and one sample
// address for each system (per family), reached over the host interface the site
// names for it (or a default interface).
#pragma once
#include <string>
#include <vector>

#include "portmatrix/verify.hpp"

namespace portmatrix::verify {

// The host interface for systems the site ties to no interface.
inline constexpr std::string_view kDefaultIface = "pmx0";

struct Peer {
  std::string system;
  IpAddr addr;
  std::string iface;  // the host interface it is reached over
};

struct Topology {
  std::vector<IpAddr> host;             // at most one per family
  std::vector<Peer> peers;
  std::vector<std::string> interfaces;  // host interfaces that have peers
  std::vector<const Peer*> peers_of(const std::string& system) const;
  const IpAddr* host_addr(Family f) const;
};

Topology plan_topology(const Policy& policy, const VerifyOptions& options, std::vector<std::string>& notes);
std::vector<Probe> plan_probes(const Policy& policy, const VerifyOptions& options, const Topology& topology,
                               std::vector<std::string>& notes);

}  // namespace portmatrix::verify
