// Packet decoding, one layer at a time: link (Ethernet with 802.1Q/QinQ, Linux
// cooked SLL/SLL2, raw IP, BSD loopback), network (IPv4 with options and
// fragments, IPv6 with extension headers) and transport (TCP, UDP, ICMP, ICMPv6,
// including the connection an ICMP error quotes). Each layer checks its bytes
// before reading them; a malformed layer leaves the rest as opaque payload and
// counts an anomaly. Decoding never allocates and never throws.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "portmatrix/address.hpp"
#include "portmatrix/capture.hpp"

namespace portmatrix {

// IP protocol numbers the engine knows by name.
namespace ipproto {
inline constexpr std::uint8_t icmp = 1, tcp = 6, udp = 17, icmpv6 = 58;
}

// TCP header flag bits.
namespace tcpflag {
inline constexpr std::uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10, urg = 0x20;
}

// What was wrong with a packet. One per packet at most: the first layer that failed.
enum class DecodeAnomaly : std::uint8_t {
  none,
  unsupported_linktype,    // the capture's link type has no decoder
  truncated_link,          // link header cut short
  truncated_vlan,          // 802.1Q/802.1ad tag cut short
  too_many_vlan_tags,      // more than two stacked tags
  bad_ip_version,          // the version field does not match the link layer's protocol
  truncated_ipv4,          // IPv4 header cut short
  bad_ipv4_header_length,  // IHL below 5 or beyond the packet
  bad_ipv4_total_length,   // total length below the header or beyond the frame
  bad_ipv4_options,        // an option overruns the header (the options are skipped)
  truncated_ipv6,          // IPv6 header cut short
  bad_ipv6_payload_length, // payload length beyond the frame
  bad_ipv6_extension,      // an extension header cut short or overrunning the payload
  too_many_ipv6_extensions,// a chain longer than the decoder follows
  tiny_fragment,           // a first fragment too short to hold the transport ports
  orphan_fragment,         // a later fragment whose first fragment was not seen (or was evicted)
  truncated_tcp,           // TCP header cut short
  bad_tcp_offset,          // TCP data offset below 5 or beyond the segment
  truncated_udp,           // UDP header cut short
  bad_udp_length,          // UDP length field below 8 or beyond the datagram
  truncated_icmp,          // ICMP header cut short
  bad_icmp_quote,          // an ICMP error whose quoted packet cannot be decoded
  count_                   // number of kinds (not a kind)
};
std::string_view to_string(DecodeAnomaly a);

// How far decoding got.
enum class Layer : std::uint8_t { none, link, network, transport };

// The transport identity of a packet: addresses, protocol and ports (or ICMP id).
struct FlowKey {
  Family family = Family::ipv4;
  std::uint8_t proto = 0;
  IpAddr src, dst;
  std::uint16_t sport = 0, dport = 0;  // tcp/udp ports; for ICMP queries sport = identifier
  std::uint8_t icmp_type = 0;          // icmp/icmpv6 only
  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};

// The decoded view of one frame. Fields past `layer` are meaningful only when
// that layer was reached.
struct DecodedPacket {
  Layer layer = Layer::none;
  DecodeAnomaly anomaly = DecodeAnomaly::none;
  std::uint16_t ethertype = 0;         // the network protocol the link layer announced
  std::uint8_t vlan_count = 0;         // 802.1Q/802.1ad tags, outermost first
  std::array<std::uint16_t, 2> vlan{};
  FlowKey key;                         // addresses and protocol from the network layer; ports from transport
  std::uint32_t ip_bytes = 0;          // the IP packet's length from its header (or the captured length)
  std::uint32_t opaque_offset = 0;     // offset in the frame where undecoded bytes begin
  bool fragment = false;               // an IP fragment (first or later)
  bool later_fragment = false;         // a non-first fragment: ports come from the fragment table
  std::uint8_t tcp_flags = 0;
  std::uint8_t icmp_code = 0;
  bool icmp_error = false;             // an ICMP error; `quoted` is the packet it quotes
  FlowKey quoted;                      // valid when icmp_error and no anomaly

  // True when the packet can be attributed to a connection (ports known or not needed).
  bool has_flow() const { return layer == Layer::transport || (layer == Layer::network && anomaly == DecodeAnomaly::none); }
  friend bool operator==(const DecodedPacket&, const DecodedPacket&) = default;
};

struct DecoderOptions {
  std::size_t fragment_capacity = 4096;          // first fragments remembered (power of two is best)
  std::int64_t fragment_timeout_ns = 30'000'000'000;  // the kernel's ipfrag_time
  // Decode the common packets (TCP and UDP over plain IPv4 or IPv6, on Ethernet or
  // raw IP) by a shorter path with the same results; off only to compare the two.
  bool fast_path = true;
  // Later fragments of TCP, UDP or ICMP that come before their first fragment
  // (reordered, or sent last-first) are held, up to this many, until their first
  // comes or the fragment timeout passes, and then released (take_released()).
  // 0: such a fragment is an orphan-fragment at once (decode()'s result alone).
  std::size_t early_fragments = 0;
};

struct DecoderStats {
  std::uint64_t packets = 0, ipv4 = 0, ipv6 = 0, non_ip = 0;
  std::uint64_t fragments = 0, fragments_attributed = 0, fragment_evictions = 0;
  std::array<std::uint64_t, static_cast<std::size_t>(DecodeAnomaly::count_)> anomalies{};
  std::uint64_t count(DecodeAnomaly a) const { return anomalies[static_cast<std::size_t>(a)]; }
  std::uint64_t total_anomalies() const;
};

// Decodes frames. Holds the IP fragment table, so later fragments are attributed
// to the ports of their first fragment; feed frames in capture order.
class Decoder {
 public:
  explicit Decoder(DecoderOptions options = {});
  // Decodes one frame into out (overwritten). Never allocates or throws.
  void decode(const Frame& frame, DecodedPacket& out);
  // Decodes bytes of a given link type (for tests and fuzzing).
  void decode(std::uint16_t linktype, const std::uint8_t* data, std::uint32_t caplen, std::uint32_t origlen,
              std::int64_t ts_ns, DecodedPacket& out);
  const DecoderStats& stats() const { return stats_; }
  const DecoderOptions& options() const { return options_; }

  // With DecoderOptions::early_fragments: a packet held back, released later.
  struct Released {
    DecodedPacket packet;
    std::int64_t ts_ns = 0;
    std::uint32_t interface = 0;
  };
  // Whether fragments are held or waiting to be released: only then need the
  // caller look at held_last() and take_released().
  bool pending() const { return !held_.empty() || !released_.empty(); }
  // Whether the frame just decoded was held: not to be tracked now.
  bool held_last() const { return held_last_; }
  // Appends to out, in order, the held fragments attributed to the first
  // fragment just decoded, and as orphan-fragments those held longer than the
  // fragment timeout before now_ns (all of them when flush). To be tracked right
  // after the frame just decoded.
  void take_released(std::int64_t now_ns, std::vector<Released>& out, bool flush = false);

 private:
  struct FragmentEntry {
    FlowKey key;            // src, dst, proto and ports of the first fragment
    std::uint32_t id = 0;   // IP identification (IPv6: the fragment header's)
    std::int64_t seen_ns = 0;
    bool used = false;
  };
  void remember_fragment(const FlowKey& key, std::uint32_t id, std::int64_t ts_ns);
  bool lookup_fragment(FlowKey& key, std::uint32_t id, std::int64_t ts_ns);
  std::size_t fragment_slot(const FlowKey& key, std::uint32_t id) const;

  struct HeldFragment {
    Released r;
    std::uint32_t id = 0;
  };
  void first_fragment(const DecodedPacket& first, std::uint32_t id, std::int64_t ts_ns);
  void hold(const DecodedPacket& p, std::uint32_t id, const Frame& frame);
  void release_early(const DecodedPacket& first, std::uint32_t id, std::int64_t ts_ns);
  void release_orphan(HeldFragment& h);

  DecoderOptions options_;
  DecoderStats stats_;
  std::vector<FragmentEntry> fragments_;  // set-associative, sized once
  std::vector<HeldFragment> held_;        // oldest first, at most options_.early_fragments
  std::vector<Released> released_;
  bool held_last_ = false;
};

}  // namespace portmatrix
