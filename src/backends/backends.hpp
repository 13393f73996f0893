// The backend instances, one per file in src/backends/, and helpers they share.
#pragma once
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "portmatrix/backend.hpp"

namespace portmatrix {

const Backend& nftables_backend();
const Backend& iptables_backend();
const Backend& firewalld_backend();
const Backend& cisco_ios_backend();
const Backend& cisco_asa_backend();
const Backend& juniper_backend();

// Reports "TARGET: row 'ROW': WHAT" warnings, each message once (a row often
// has several rules that share an approximation).
class RowWarnings {
 public:
  RowWarnings(std::string_view target, Diagnostics& into) : target_(target), into_(into) {}
  void operator()(const std::string& row, const std::string& what);

 private:
  std::string_view target_;
  Diagnostics& into_;
  std::set<std::string> said_;
};

// Runs argv (in the network namespace netns_fd, -1: this one) with input on its
// standard input; an exit code other than 0 is an Error carrying its stderr.
Status run_checked(const std::vector<std::string>& argv, int netns_fd, const std::string& input = "");

// "22", "49152-65535": every range of the set joined by sep; a range as lo, range_sep, hi.
std::string port_list(const PortSet& ports, std::string_view sep, std::string_view range_sep = "-");

// The families a rule is written for: families() without the one its ICMP
// version does not exist in.
std::vector<Family> rule_families(const Rule& r);

// The iptables matches of a rule in one family, one string per rule line the
// rule needs (addresses expanded, long port lists split for multiport), each
// ending in a space: "-i eth1 -p tcp -s 198.51.100.0/28 -m tcp --dport 22 ".
std::vector<std::string> iptables_matches(const Rule& r, Family f);
// The iptables target for an action: ACCEPT, DROP, REJECT (with tcp-reset for TCP).
std::string iptables_target(Action a, Protocol proto);

}  // namespace portmatrix
