// Reads port states out of nmap's XML output (-oX -), including the ports nmap
// folds into <extraports> (listed in the "ports" attribute of <extrareasons>).
// Shared by the scanner's namespace tests and its benchmark.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <utility>

namespace pmtest {

// (protocol, port) -> nmap's state name ("open", "closed", "filtered", "open|filtered").
using NmapPorts = std::map<std::pair<std::string, std::uint16_t>, std::string>;

namespace nmap_detail {
inline void add_port_list(NmapPorts& out, const std::string& proto, const std::string& list, const std::string& state) {
  std::size_t pos = 0;
  while (pos < list.size()) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    const std::string item = list.substr(pos, comma - pos);
    const std::size_t dash = item.find('-');
    const unsigned long lo = std::stoul(item.substr(0, dash));
    const unsigned long hi = dash == std::string::npos ? lo : std::stoul(item.substr(dash + 1));
    for (unsigned long p = lo; p <= hi; ++p) out[{proto, static_cast<std::uint16_t>(p)}] = state;
    pos = comma + 1;
  }
}
}  // namespace nmap_detail

// Parses the port states of the (single) host in an nmap XML report.
inline NmapPorts parse_nmap_xml(const std::string& xml) {
  NmapPorts out;
  static const std::regex port_re(R"re(<port protocol="(\w+)" portid="(\d+)"><state state="([a-z|]+)")re");
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), port_re); it != std::sregex_iterator(); ++it)
    out[{(*it)[1].str(), static_cast<std::uint16_t>(std::stoul((*it)[2].str()))}] = (*it)[3].str();
  // <extraports state="filtered" count="N"> ... <extrareasons ... proto="tcp" ports="1-21,23-79"/> ... </extraports>
  static const std::regex extra_re(R"re(<extraports state="([a-z|]+)"[^>]*>([\s\S]*?)</extraports>)re");
  static const std::regex reasons_re(R"re(<extrareasons [^>]*proto="(\w+)" ports="([0-9,\-]+)")re");
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), extra_re); it != std::sregex_iterator(); ++it) {
    const std::string state = (*it)[1].str(), body = (*it)[2].str();
    for (auto r = std::sregex_iterator(body.begin(), body.end(), reasons_re); r != std::sregex_iterator(); ++r)
      nmap_detail::add_port_list(out, (*r)[1].str(), (*r)[2].str(), state);
  }
  return out;
}

}  // namespace pmtest
