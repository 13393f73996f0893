// Builds packets byte by byte and writes them into capture files: pcap through
// libpcap (pcap_open_dead + pcap_dump), pcapng through a small writer of its own
// (libpcap cannot write pcapng). Used by the tests, the benchmark and the fuzz
// corpus generator, so it has no gtest dependency.
#pragma once
#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace pmtest::pkt {

using Bytes = std::vector<std::uint8_t>;

inline void put8(Bytes& b, std::uint8_t v) { b.push_back(v); }
inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
inline Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
inline Bytes filler(std::size_t n, std::uint8_t v = 0xab) { return Bytes(n, v); }

inline std::uint16_t checksum(const std::uint8_t* p, std::size_t n) {
  std::uint32_t s = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) s += std::uint32_t(p[i]) << 8 | p[i + 1];
  if (n & 1) s += std::uint32_t(p[n - 1]) << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(~s);
}

inline Bytes addr4(const char* a) {
  Bytes b(4);
  inet_pton(AF_INET, a, b.data());
  return b;
}
inline Bytes addr6(const char* a) {
  Bytes b(16);
  inet_pton(AF_INET6, a, b.data());
  return b;
}

struct V4Opts {
  std::uint16_t id = 1;
  bool more_fragments = false;
  std::uint16_t frag_offset8 = 0;  // in 8-byte units
  Bytes options;                   // padded to 4 bytes by the caller
  int total_length = -1;           // override the computed total length
  std::uint8_t ttl = 64;
};

inline Bytes ipv4(const char* src, const char* dst, std::uint8_t proto, const Bytes& payload, const V4Opts& o = {}) {
  Bytes b;
  std::size_t hlen = 20 + o.options.size();
  put8(b, static_cast<std::uint8_t>(0x40 | (hlen / 4)));
  put8(b, 0);
  put16(b, static_cast<std::uint16_t>(o.total_length >= 0 ? o.total_length : int(hlen + payload.size())));
  put16(b, o.id);
  put16(b, static_cast<std::uint16_t>((o.more_fragments ? 0x2000 : 0) | (o.frag_offset8 & 0x1fff)));
  put8(b, o.ttl);
  put8(b, proto);
  put16(b, 0);
  b = cat(b, addr4(src));
  b = cat(b, addr4(dst));
  b = cat(b, o.options);
  std::uint16_t ck = checksum(b.data(), b.size());
  b[10] = static_cast<std::uint8_t>(ck >> 8);
  b[11] = static_cast<std::uint8_t>(ck);
  return cat(b, payload);
}

// after = extension headers (if any) followed by the upper-layer bytes.
inline Bytes ipv6(const char* src, const char* dst, std::uint8_t next, const Bytes& after, int payload_length = -1) {
  Bytes b;
  put32(b, 0x60000000);
  put16(b, static_cast<std::uint16_t>(payload_length >= 0 ? payload_length : int(after.size())));
  put8(b, next);
  put8(b, 64);
  b = cat(b, addr6(src));
  b = cat(b, addr6(dst));
  return cat(b, after);
}

// A generic extension header (hop-by-hop 0, routing 43, destination options 60) of 8*(units+1) bytes.
inline Bytes ext(std::uint8_t next, std::uint8_t units = 0) {
  Bytes b(8 * (units + 1u), 0);
  b[0] = next;
  b[1] = units;
  b[2] = 1;  // PadN option covering the rest
  b[3] = static_cast<std::uint8_t>(b.size() - 4);
  return b;
}
inline Bytes ext_fragment(std::uint8_t next, std::uint16_t offset8, bool more, std::uint32_t id) {
  Bytes b{next, 0};
  put16(b, static_cast<std::uint16_t>(offset8 << 3 | (more ? 1 : 0)));
  put32(b, id);
  return b;
}
// Authentication header with a 12-byte ICV: (len + 2) * 4 = 24 bytes.
inline Bytes ext_ah(std::uint8_t next) {
  Bytes b(24, 0);
  b[0] = next;
  b[1] = 4;
  b[7] = 0x10;  // SPI
  b[11] = 1;    // sequence
  return b;
}

inline Bytes tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags, const Bytes& payload = {},
                 std::uint8_t data_offset_words = 5) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1000);
  put32(b, (flags & 0x10) ? 2000 : 0);
  put8(b, static_cast<std::uint8_t>(data_offset_words << 4));
  put8(b, flags);
  put16(b, 65535);
  put16(b, 0);
  put16(b, 0);
  if (data_offset_words > 5) b.resize(b.size() + (data_offset_words - 5) * 4u, 1);  // NOP options
  return cat(b, payload);
}

inline Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload = {}, int length = -1) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint16_t>(length >= 0 ? length : int(8 + payload.size())));
  put16(b, 0);
  return cat(b, payload);
}

// ICMP or ICMPv6 header: type, code, checksum, then 4 bytes (identifier and sequence for queries).
inline Bytes icmp(std::uint8_t type, std::uint8_t code, std::uint32_t rest, const Bytes& payload = {}) {
  Bytes b{type, code, 0, 0};
  put32(b, rest);
  return cat(b, payload);
}

inline constexpr std::uint16_t kIpv4 = 0x0800, kIpv6 = 0x86dd, kArp = 0x0806;

// Ethernet II, with VLAN tags given outermost first as (TPID, VLAN id).
inline Bytes ether(std::uint16_t type, const Bytes& payload, std::initializer_list<std::pair<std::uint16_t, std::uint16_t>> tags = {}) {
  Bytes b{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
  for (auto [tpid, vid] : tags) {
    put16(b, tpid);
    put16(b, vid);
  }
  put16(b, type);
  return cat(b, payload);
}
inline Bytes sll(std::uint16_t proto, const Bytes& payload) {
  Bytes b;
  put16(b, 0);  // packet type: to us
  put16(b, 1);  // ARPHRD_ETHER
  put16(b, 6);
  for (int i = 0; i < 8; ++i) put8(b, static_cast<std::uint8_t>(i < 6 ? 0x10 + i : 0));
  put16(b, proto);
  return cat(b, payload);
}
inline Bytes sll2(std::uint16_t proto, const Bytes& payload) {
  Bytes b;
  put16(b, proto);
  put16(b, 0);
  put32(b, 2);  // ifindex
  put16(b, 1);  // ARPHRD_ETHER
  put8(b, 0);
  put8(b, 6);
  for (int i = 0; i < 8; ++i) put8(b, static_cast<std::uint8_t>(i < 6 ? 0x20 + i : 0));
  return cat(b, payload);
}
// BSD loopback header: the family in little-endian (DLT_NULL as written on x86) or network order.
inline Bytes loopback(std::uint32_t af, const Bytes& payload, bool network_order) {
  Bytes b;
  if (network_order) {
    put32(b, af);
  } else {
    for (int i = 0; i < 4; ++i) put8(b, static_cast<std::uint8_t>(af >> (8 * i)));
  }
  return cat(b, payload);
}

// A packet to write: timestamp, bytes, and (pcapng) the interface.
struct Rec {
  std::int64_t ts_ns = 0;
  Bytes data;
  std::uint32_t iface = 0;
  std::uint32_t origlen = 0;  // 0: the data's size
};

// Writes a pcap file with libpcap. nanos selects the nanosecond-magic format.
inline bool write_pcap(const std::string& path, int linktype, const std::vector<Rec>& recs, bool nanos = false,
                       int snaplen = 262144) {
  pcap_t* p = pcap_open_dead_with_tstamp_precision(linktype, snaplen,
                                                   nanos ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
  if (!p) return false;
  pcap_dumper_t* d = pcap_dump_open(p, path.c_str());
  if (!d) {
    pcap_close(p);
    return false;
  }
  for (const auto& r : recs) {
    pcap_pkthdr h{};
    h.ts.tv_sec = r.ts_ns / 1000000000;
    h.ts.tv_usec = nanos ? r.ts_ns % 1000000000 : (r.ts_ns % 1000000000) / 1000;
    h.caplen = static_cast<bpf_u_int32>(r.data.size());
    h.len = r.origlen ? r.origlen : h.caplen;
    pcap_dump(reinterpret_cast<u_char*>(d), &h, r.data.data());
  }
  pcap_dump_close(d);
  pcap_close(p);
  return true;
}

inline Bytes read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
inline void write_all(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// Rewrites a (well-formed) pcap image in the other byte order, as a host of the
// other endianness would have written it.
inline Bytes swap_pcap(Bytes b) {
  auto sw = [&](std::size_t at, int n) {
    for (int i = 0; i < n / 2; ++i) std::swap(b[at + i], b[at + n - 1 - i]);
  };
  sw(0, 4), sw(4, 2), sw(6, 2), sw(8, 4), sw(12, 4), sw(16, 4), sw(20, 4);
  bool big = b[0] == 0xa1;  // the image is now big-endian when its magic starts with 0xa1
  std::size_t at = 24;
  while (at + 16 <= b.size()) {
    for (int f = 0; f < 4; ++f) sw(at + 4 * f, 4);
    std::size_t caplen = big ? (std::size_t(b[at + 8]) << 24 | std::size_t(b[at + 9]) << 16 | std::size_t(b[at + 10]) << 8 | b[at + 11])
                                : (std::size_t(b[at + 11]) << 24 | std::size_t(b[at + 10]) << 16 | std::size_t(b[at + 9]) << 8 | b[at + 8]);
    at += 16 + caplen;
  }
  return b;
}

// A minimal pcapng writer, in either byte order.
class PcapngWriter {
 public:
  explicit PcapngWriter(bool big_endian = false) : be_(big_endian) {}

  void section() {
    Bytes body;
    u32(body, 0x1a2b3c4d);
    u16(body, 1);
    u16(body, 0);
    u32(body, 0xffffffff);  // section length: unknown
    u32(body, 0xffffffff);
    block(0x0a0d0d0a, body);
  }
  // tsresol < 0: no if_tsresol option (microseconds).
  void interface(std::uint16_t linktype, std::uint32_t snaplen, const std::string& name = "", int tsresol = -1) {
    Bytes body;
    u16(body, linktype);
    u16(body, 0);
    u32(body, snaplen);
    if (!name.empty()) option(body, 2, Bytes(name.begin(), name.end()));
    if (tsresol >= 0) option(body, 9, Bytes{static_cast<std::uint8_t>(tsresol)});
    if (!name.empty() || tsresol >= 0) option(body, 0, {});
    block(1, body);
  }
  void enhanced(std::uint32_t iface, std::uint64_t ts_units, const Bytes& data, std::uint32_t origlen = 0) {
    Bytes body;
    u32(body, iface);
    u32(body, static_cast<std::uint32_t>(ts_units >> 32));
    u32(body, static_cast<std::uint32_t>(ts_units));
    u32(body, static_cast<std::uint32_t>(data.size()));
    u32(body, origlen ? origlen : static_cast<std::uint32_t>(data.size()));
    body = cat(body, data);
    body.resize((body.size() + 3) & ~std::size_t(3), 0);
    block(6, body);
  }
  void simple(const Bytes& data) {
    Bytes body;
    u32(body, static_cast<std::uint32_t>(data.size()));
    body = cat(body, data);
    body.resize((body.size() + 3) & ~std::size_t(3), 0);
    block(3, body);
  }
  // Any other block type, e.g. name resolution (4) or interface statistics (5).
  void other(std::uint32_t type, const Bytes& body) { block(type, body); }
  // Raw bytes, to build damaged files.
  void raw(const Bytes& b) { out_.insert(out_.end(), b.begin(), b.end()); }

  const Bytes& bytes() const { return out_; }
  std::size_t size() const { return out_.size(); }

 private:
  void u16(Bytes& b, std::uint16_t v) {
    if (be_) return put16(b, v);
    b.push_back(static_cast<std::uint8_t>(v));
    b.push_back(static_cast<std::uint8_t>(v >> 8));
  }
  void u32(Bytes& b, std::uint32_t v) {
    if (be_) return put32(b, v);
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void option(Bytes& b, std::uint16_t code, const Bytes& v) {
    u16(b, code);
    u16(b, static_cast<std::uint16_t>(v.size()));
    b = cat(b, v);
    b.resize((b.size() + 3) & ~std::size_t(3), 0);
  }
  void block(std::uint32_t type, const Bytes& body) {
    std::uint32_t len = static_cast<std::uint32_t>(body.size() + 12);
    u32(out_, type);
    u32(out_, len);
    out_.insert(out_.end(), body.begin(), body.end());
    u32(out_, len);
  }

  bool be_;
  Bytes out_;
};

}  // namespace pmtest::pkt
