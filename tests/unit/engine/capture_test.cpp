#include "portmatrix/capture.hpp"

#include <unistd.h>

#include <functional>

#include <gtest/gtest.h>

#include "support/packets.hpp"

using namespace portmatrix;
using namespace pmtest::pkt;

namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "pm_capture_" + std::to_string(::getpid()) + "_" + name;
}

struct Read {
  std::vector<Frame> frames;
  std::vector<Bytes> data;
  CaptureStats stats;
  std::vector<CaptureInterface> interfaces;
  CaptureFormat format{};
};

Read read_all_frames(CaptureReader& r) {
  Read out;
  Frame f;
  while (r.next(f)) {
    out.frames.push_back(f);
    out.data.emplace_back(f.data, f.data + f.caplen);
  }
  out.stats = r.stats();
  out.interfaces = r.interfaces();
  out.format = r.format();
  return out;
}

Read read_memory(const Bytes& b) {
  auto r = CaptureReader::from_memory(b);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return {};
  return read_all_frames(r.value());
}

Read read_path(const std::string& path, std::size_t buffer = 4u << 20) {
  auto r = CaptureReader::open(path, {buffer});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return {};
  return read_all_frames(r.value());
}

Bytes tcp_frame(std::uint16_t sport, std::size_t payload = 10) {
  return ether(kIpv4, ipv4("192.0.2.1", "192.0.2.2", 6, tcp(sport, 80, 0x02, filler(payload))));
}

std::vector<Rec> sample_records() {
  return {{1700000000123456000, tcp_frame(40000)},
          {1700000001000001000, tcp_frame(40001, 100), 0, 1500},
          {1700000002999999000, tcp_frame(40002, 0)}};
}

}  // namespace

TEST(CaptureReader, PcapMicrosecondsThroughLibpcap) {
  auto path = temp_path("micro.pcap");
  auto recs = sample_records();
  ASSERT_TRUE(write_pcap(path, DLT_EN10MB, recs));
  Read r = read_path(path);
  unlink(path.c_str());
  EXPECT_EQ(r.format, CaptureFormat::pcap);
  ASSERT_EQ(r.frames.size(), 3u);
  std::uint64_t off = 24;
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.frames[i].ts_ns, recs[i].ts_ns);
    EXPECT_EQ(r.data[i], recs[i].data);
    EXPECT_EQ(r.frames[i].linktype, linktype::ethernet);
    EXPECT_EQ(r.frames[i].offset, off);
    off += 16 + recs[i].data.size();
  }
  EXPECT_EQ(r.frames[1].origlen, 1500u);
  EXPECT_EQ(r.stats.frames, 3u);
  EXPECT_EQ(r.stats.total_issues(), 0u);
  EXPECT_EQ(r.stats.file_bytes, off);
}

TEST(CaptureReader, PcapNanosecondsBothByteOrders) {
  auto path = temp_path("nano.pcap");
  std::vector<Rec> recs = {{1700000000123456789, tcp_frame(1)}, {1700000000123456790, tcp_frame(2)}};
  ASSERT_TRUE(write_pcap(path, DLT_EN10MB, recs, /*nanos=*/true));
  Bytes native = read_all(path);
  unlink(path.c_str());
  Bytes swapped = swap_pcap(native);
  ASSERT_NE(native, swapped);
  for (const Bytes* b : {&native, &swapped}) {
    Read r = read_memory(*b);
    ASSERT_EQ(r.frames.size(), 2u);
    EXPECT_EQ(r.frames[0].ts_ns, 1700000000123456789);
    EXPECT_EQ(r.frames[1].ts_ns, 1700000000123456790);
    EXPECT_EQ(r.data[1], recs[1].data);
    EXPECT_EQ(r.stats.total_issues(), 0u);
  }
  // The microsecond format swapped as well.
  ASSERT_TRUE(write_pcap(path, DLT_EN10MB, sample_records()));
  Read micro = read_memory(swap_pcap(read_all(path)));
  unlink(path.c_str());
  ASSERT_EQ(micro.frames.size(), 3u);
  EXPECT_EQ(micro.frames[2].ts_ns, 1700000002999999000);
}

TEST(CaptureReader, SmallBufferRefillsAcrossRecords) {
  auto path = temp_path("many.pcap");
  std::vector<Rec> recs;
  for (int i = 0; i < 3000; ++i) recs.push_back({1700000000000000000 + i * 1000, tcp_frame(static_cast<std::uint16_t>(i), i % 1400)});
  ASSERT_TRUE(write_pcap(path, DLT_EN10MB, recs));
  Read r = read_path(path, 65536);
  unlink(path.c_str());
  ASSERT_EQ(r.frames.size(), recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i) ASSERT_EQ(r.data[i], recs[i].data) << i;
}

TEST(CaptureReader, PcapTruncatedFileReportsOffset) {
  auto path = temp_path("trunc.pcap");
  auto recs = sample_records();
  ASSERT_TRUE(write_pcap(path, DLT_EN10MB, recs));
  Bytes b = read_all(path);
  unlink(path.c_str());
  std::uint64_t last = 24 + 16 + recs[0].data.size() + 16 + recs[1].data.size();
  b.resize(last + 16 + 5);  // the last record loses all but 5 bytes of its packet
  Read r = read_memory(b);
  EXPECT_EQ(r.frames.size(), 2u);
  ASSERT_EQ(r.stats.count(CaptureIssueKind::truncated), 1u);
  EXPECT_EQ(r.stats.issues[0].offset, last);
  // Cut inside a record header too.
  b.resize(last + 7);
  r = read_memory(b);
  EXPECT_EQ(r.frames.size(), 2u);
  ASSERT_EQ(r.stats.issues.size(), 1u);
  EXPECT_EQ(r.stats.issues[0].kind, CaptureIssueKind::truncated);
  EXPECT_EQ(r.stats.issues[0].offset, last);
}

TEST(CaptureReader, PcapGarbageRecordIsSkippedAndReadingGoesOn) {
  auto path = temp_path("garbage.pcap");
  std::vector<Rec> recs;
  for (int i = 0; i < 6; ++i) recs.push_back({1700000000000000000 + i * 1000000, tcp_frame(static_cast<std::uint16_t>(100 + i), 20)});
  ASSERT_TRUE(write_pcap(path, DLT_EN10MB, recs));
  Bytes b = read_all(path);
  unlink(path.c_str());
  std::size_t rec = 16 + recs[0].data.size();
  std::size_t third = 24 + 2 * rec;
  // Garbage caplen in the third record's header (little-endian host).
  b[third + 8] = 0xff, b[third + 9] = 0xff, b[third + 10] = 0xff, b[third + 11] = 0x7f;
  Read r = read_memory(b);
  ASSERT_EQ(r.stats.count(CaptureIssueKind::bad_record_length), 1u);
  EXPECT_EQ(r.stats.issues[0].offset, third);
  ASSERT_EQ(r.frames.size(), 5u);  // all but the damaged one
  EXPECT_EQ(r.data[2], recs[3].data);
  EXPECT_EQ(r.frames[2].offset, third + rec);
  EXPECT_EQ(r.stats.skipped_bytes, rec);
}

TEST(CaptureReader, PcapCaplenOverSnaplenIsReportedAndRead) {
  auto path = temp_path("snap.pcap");
  ASSERT_TRUE(write_pcap(path, DLT_EN10MB, {{1, tcp_frame(1, 200)}, {2, tcp_frame(2, 10)}}, false, 100));
  Read r = read_path(path);
  unlink(path.c_str());
  ASSERT_EQ(r.frames.size(), 2u);
  ASSERT_EQ(r.stats.count(CaptureIssueKind::caplen_over_snaplen), 1u);
  EXPECT_EQ(r.stats.issues[0].offset, 24u);
}

TEST(CaptureReader, RejectsWhatIsNotACapture) {
  Bytes text{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  auto r = CaptureReader::from_memory(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, Error::Kind::input);
  EXPECT_FALSE(CaptureReader::from_memory(Bytes{}).ok());
  EXPECT_FALSE(CaptureReader::from_memory(Bytes{0xd4, 0xc3, 0xb2, 0xa1, 2, 0}).ok());  // header cut short
  auto missing = CaptureReader::open(temp_path("does-not-exist.pcap"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, Error::Kind::io);
}

namespace {

// Two interfaces of different link types and clocks, every packet block kind,
// and blocks the reader must skip.
PcapngWriter two_interfaces(bool big_endian) {
  PcapngWriter w(big_endian);
  w.section();
  w.interface(linktype::ethernet, 65535, "eth0");
  w.interface(linktype::raw, 65535, "tun0", 9);
  w.other(4, Bytes(8, 0));  // name resolution block: skipped
  w.enhanced(0, 1700000000123456ull, tcp_frame(1));
  w.enhanced(1, 1700000000123456789ull, ipv4("192.0.2.9", "192.0.2.10", 17, udp(53, 5353)));
  w.simple(tcp_frame(2));
  w.other(5, Bytes(16, 0));  // interface statistics: skipped
  return w;
}

}  // namespace

TEST(CaptureReader, PcapngTwoInterfacesBothByteOrders) {
  for (bool be : {false, true}) {
    SCOPED_TRACE(be ? "big-endian" : "little-endian");
    auto w = two_interfaces(be);
    Read r = read_memory(w.bytes());
    EXPECT_EQ(r.format, CaptureFormat::pcapng);
    ASSERT_EQ(r.interfaces.size(), 2u);
    EXPECT_EQ(r.interfaces[0].linktype, linktype::ethernet);
    EXPECT_EQ(r.interfaces[0].name, "eth0");
    EXPECT_EQ(r.interfaces[1].linktype, linktype::raw);
    EXPECT_EQ(r.interfaces[1].name, "tun0");
    ASSERT_EQ(r.frames.size(), 3u);
    EXPECT_EQ(r.frames[0].ts_ns, 1700000000123456000);
    EXPECT_EQ(r.frames[0].linktype, linktype::ethernet);
    EXPECT_EQ(r.frames[1].ts_ns, 1700000000123456789);
    EXPECT_EQ(r.frames[1].linktype, linktype::raw);
    EXPECT_EQ(r.frames[1].interface, 1u);
    EXPECT_EQ(r.data[1], ipv4("192.0.2.9", "192.0.2.10", 17, udp(53, 5353)));
    // The simple packet: interface 0, the previous packet's time.
    EXPECT_EQ(r.frames[2].interface, 0u);
    EXPECT_EQ(r.frames[2].ts_ns, r.frames[1].ts_ns);
    EXPECT_EQ(r.data[2], tcp_frame(2));
    EXPECT_EQ(r.stats.skipped_blocks, 2u);
    EXPECT_EQ(r.stats.total_issues(), 0u);
  }
}

TEST(CaptureReader, PcapngBinaryTimestampResolution) {
  PcapngWriter w;
  w.section();
  w.interface(linktype::ethernet, 0, "", 0x80 | 10);  // units of 2^-10 s
  w.enhanced(0, 3 * 1024 + 512, tcp_frame(1));
  Read r = read_memory(w.bytes());
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.frames[0].ts_ns, 3500000000);
}

TEST(CaptureReader, PcapngBadBlockLengthSkipsToNextSection) {
  PcapngWriter w;
  w.section();
  w.interface(linktype::ethernet, 65535);
  w.enhanced(0, 1, tcp_frame(1));
  std::size_t bad = w.size();
  w.raw({6, 0, 0, 0, 13, 0, 0, 0});  // length 13: not a multiple of 4
  w.raw(filler(40));
  PcapngWriter second(true);  // a new section, in the other byte order, restarts reading
  second.section();
  second.interface(linktype::linux_sll, 65535);
  second.enhanced(0, 2, sll(kIpv4, ipv4("192.0.2.1", "192.0.2.2", 17, udp(1, 2))));
  Bytes all = cat(w.bytes(), second.bytes());
  Read r = read_memory(all);
  ASSERT_EQ(r.stats.count(CaptureIssueKind::bad_block_length), 1u);
  EXPECT_EQ(r.stats.issues[0].offset, bad);
  ASSERT_EQ(r.frames.size(), 2u);
  EXPECT_EQ(r.frames[1].linktype, linktype::linux_sll);
  // Interfaces are numbered across sections.
  EXPECT_EQ(r.frames[1].interface, 1u);
  ASSERT_EQ(r.interfaces.size(), 2u);
  EXPECT_EQ(r.interfaces[1].section, 1u);
}

TEST(CaptureReader, PcapngDamageInsideBlocks) {
  PcapngWriter w;
  w.section();
  w.interface(linktype::ethernet, 65535);
  std::size_t unknown = w.size();
  w.enhanced(7, 1, tcp_frame(1));  // no interface 7
  std::size_t good = w.size();
  w.enhanced(0, 2, tcp_frame(2));
  std::size_t cut = w.size();
  w.enhanced(0, 3, tcp_frame(3));
  Bytes b = w.bytes();
  b.resize(b.size() - 10);
  Read r = read_memory(b);
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.frames[0].offset, good);
  ASSERT_EQ(r.stats.issues.size(), 2u);
  EXPECT_EQ(r.stats.issues[0].kind, CaptureIssueKind::unknown_interface);
  EXPECT_EQ(r.stats.issues[0].offset, unknown);
  EXPECT_EQ(r.stats.issues[1].kind, CaptureIssueKind::truncated);
  EXPECT_EQ(r.stats.issues[1].offset, cut);
}

TEST(CaptureReader, PcapngFromFileWithSmallBuffer) {
  PcapngWriter w;
  w.section();
  w.interface(linktype::ethernet, 65535);
  for (int i = 0; i < 2000; ++i) w.enhanced(0, 1000 + i, tcp_frame(static_cast<std::uint16_t>(i), i % 1000));
  auto path = temp_path("many.pcapng");
  write_all(path, w.bytes());
  Read r = read_path(path, 65536);
  unlink(path.c_str());
  ASSERT_EQ(r.frames.size(), 2000u);
  EXPECT_EQ(r.data[1999], tcp_frame(1999, 999));
  EXPECT_EQ(r.stats.file_bytes, w.size());
}

namespace {
// The same reading through next_batch(): the data of every batch is copied before the next call.
Read read_all_batches(CaptureReader& r, std::size_t batch) {
  Read out;
  std::vector<Frame> frames(batch);
  while (std::size_t n = r.next_batch(frames)) {
    EXPECT_LE(n, batch);
    for (std::size_t i = 0; i < n; ++i) {
      out.frames.push_back(frames[i]);
      out.data.emplace_back(frames[i].data, frames[i].data + frames[i].caplen);
    }
  }
  out.stats = r.stats();
  return out;
}

void expect_batches_match(const std::function<Expected<CaptureReader>()>& open) {
  auto one = open();
  ASSERT_TRUE(one.ok());
  Read want = read_all_frames(one.value());
  for (std::size_t batch : {1, 7, 32}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    auto r = open();
    ASSERT_TRUE(r.ok());
    Read got = read_all_batches(r.value(), batch);
    ASSERT_EQ(got.frames.size(), want.frames.size());
    for (std::size_t i = 0; i < want.frames.size(); ++i) {
      ASSERT_EQ(got.data[i], want.data[i]) << i;
      EXPECT_EQ(got.frames[i].offset, want.frames[i].offset) << i;
      EXPECT_EQ(got.frames[i].ts_ns, want.frames[i].ts_ns) << i;
      EXPECT_EQ(got.frames[i].origlen, want.frames[i].origlen) << i;
      EXPECT_EQ(got.frames[i].linktype, want.frames[i].linktype) << i;
      EXPECT_EQ(got.frames[i].interface, want.frames[i].interface) << i;
    }
    EXPECT_EQ(got.stats.frames, want.stats.frames);
    EXPECT_EQ(got.stats.frame_bytes, want.stats.frame_bytes);
    EXPECT_EQ(got.stats.file_bytes, want.stats.file_bytes);
    EXPECT_EQ(got.stats.skipped_bytes, want.stats.skipped_bytes);
    ASSERT_EQ(got.stats.issues.size(), want.stats.issues.size());
    for (std::size_t i = 0; i < want.stats.issues.size(); ++i) {
      EXPECT_EQ(got.stats.issues[i].kind, want.stats.issues[i].kind);
      EXPECT_EQ(got.stats.issues[i].offset, want.stats.issues[i].offset);
    }
  }
}
}  // namespace

TEST(CaptureReader, BatchesGiveTheSameFramesAsNext) {
  // Records across buffer refills, with damage: lengths over the snaplen, a garbage
  // header, and a file cut inside its last record.
  auto path = temp_path("batch.pcap");
  std::vector<Rec> recs;
  for (int i = 0; i < 3000; ++i)
    recs.push_back({1700000000000000000 + i * 1000, tcp_frame(static_cast<std::uint16_t>(i), i % 1400)});
  ASSERT_TRUE(write_pcap(path, DLT_EN10MB, recs, false, 1200));
  Bytes b = read_all(path);
  std::size_t second = 24 + 16 + recs[0].data.size();
  b[second + 8] = 0xff, b[second + 9] = 0xff, b[second + 10] = 0xff, b[second + 11] = 0x7f;
  b.resize(b.size() - 7);
  write_all(path, b);
  expect_batches_match([&] { return CaptureReader::open(path, {65536}); });
  expect_batches_match([&] { return CaptureReader::from_memory(b); });
  unlink(path.c_str());

  PcapngWriter w;
  w.section();
  w.interface(linktype::ethernet, 65535);
  w.interface(linktype::raw, 65535);
  for (int i = 0; i < 500; ++i) w.enhanced(i % 2, 1000 + i, tcp_frame(static_cast<std::uint16_t>(i), i % 1000));
  auto ng = temp_path("batch.pcapng");
  write_all(ng, w.bytes());
  expect_batches_match([&] { return CaptureReader::open(ng, {65536}); });
  unlink(ng.c_str());
}
