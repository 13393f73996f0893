// Writes the seed corpus for fuzz_capture and fuzz_decode from packets built by
// tests/support/packets.hpp. Run from the source tree:
//   build/fuzz/make_corpus fuzz/corpus
#include <cstdio>
#include <string>

#include "portmatrix/capture.hpp"
#include "support/packets.hpp"

using namespace pmtest::pkt;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  namespace lt = portmatrix::linktype;
  Bytes syn = ipv4("192.0.2.1", "192.0.2.2", 6, tcp(51000, 22, 0x02));
  Bytes opts;
  {
    V4Opts o;
    o.options = {7, 7, 4, 0, 0, 0, 0, 1};
    o.more_fragments = true;
    opts = ipv4("192.0.2.1", "192.0.2.2", 17, udp(53, 53, filler(16)), o);
  }
  Bytes v6 = ipv6("2001:db8::1", "2001:db8::2", 0, cat(cat(ext(60), ext(44)), cat(ext_fragment(6, 0, true, 7), tcp(1, 2, 0x12))));
  Bytes quote(syn.begin(), syn.begin() + 28);
  Bytes err = ipv4("203.0.113.1", "192.0.2.1", 1, icmp(3, 1, 0, quote));
  Bytes err6 = ipv6("2001:db8::9", "2001:db8::1", 58, icmp(2, 0, 1280, ipv6("2001:db8::1", "2001:db8::2", 17, udp(1, 2, filler(8)))));
  struct Seed {
    const char* name;
    std::uint8_t selector;  // index into fuzz_decode's link type table
    Bytes frame;
  } seeds[] = {
      {"eth_tcp", 0, ether(kIpv4, syn)},
      {"eth_qinq_v6", 0, ether(kIpv6, v6, {{0x88a8, 1}, {0x8100, 2}})},
      {"eth_icmp_err", 0, ether(kIpv4, err)},
      {"sll_opts", 1, sll(kIpv4, opts)},
      {"sll2_icmp6", 2, sll2(kIpv6, err6)},
      {"raw_v6", 3, v6},
      {"ipv4_err", 4, err},
      {"ipv6_err", 5, err6},
      {"null_v4", 6, loopback(2, syn, false)},
      {"loop_v6", 7, loopback(30, v6, true)},
  };
  for (const auto& s : seeds) write_all(dir + "/decode/" + s.name, cat(Bytes{s.selector}, s.frame));

  std::vector<Rec> recs;
  std::int64_t t = 1700000000000000000;
  for (const auto& s : seeds)
    if (s.selector == 0) recs.push_back({t += 1000, s.frame});
  std::string tmp = dir + "/capture/eth.pcap";
  write_pcap(tmp, DLT_EN10MB, recs, false);
  write_all(dir + "/capture/eth_swapped.pcap", swap_pcap(read_all(tmp)));
  write_pcap(dir + "/capture/eth_nano.pcap", DLT_EN10MB, recs, true);
  for (bool be : {false, true}) {
    PcapngWriter w(be);
    w.section();
    w.interface(lt::ethernet, 65535, "eth0");
    w.interface(lt::linux_sll2, 65535, "any", 9);
    w.interface(lt::raw, 65535, "tun0", 0x80 | 20);
    w.enhanced(0, 1, ether(kIpv4, syn));
    w.enhanced(1, 2, sll2(kIpv6, err6));
    w.enhanced(2, 3, v6);
    w.simple(ether(kIpv4, err));
    w.other(5, Bytes(8, 0));
    write_all(dir + (be ? "/capture/multi_be.pcapng" : "/capture/multi_le.pcapng"), w.bytes());
  }
  return 0;
}
