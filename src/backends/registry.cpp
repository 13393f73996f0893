// The table of firewall targets. One row per backend.
#include "backends/backends.hpp"

namespace portmatrix {

const std::vector<const Backend*>& backends() {
  static const std::vector<const Backend*> all = {
      &nftables_backend(),
      &iptables_backend(),
      &firewalld_backend(),
      &cisco_ios_backend(),
      &cisco_asa_backend(),
      &juniper_backend(),
  };
  return all;
}

const Backend* find_backend(std::string_view name) {
  for (const Backend* b : backends())
    if (b->name() == name) return b;
  return nullptr;
}

}  // namespace portmatrix
