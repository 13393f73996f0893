// Streaming reader for packet capture files: pcap (both byte orders, micro- and
// nanosecond timestamps) and pcapng (sections of either byte order, several
// interfaces with their own link types and timestamp resolutions, enhanced,
// simple and obsolete packet blocks). Memory stays bounded whatever the file size:
// the file is read in large chunks into one buffer that only grows to the largest
// record (at most kMaxBlockSize). Damaged records are counted and reported with
// their file offset; reading goes on wherever the format allows. See docs/capture.md.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "portmatrix/diag.hpp"

namespace portmatrix {

// Link-layer header types, as the LINKTYPE_* values stored in pcap and pcapng files.
namespace linktype {
inline constexpr std::uint16_t null = 0;          // BSD loopback, address family in the writer's byte order
inline constexpr std::uint16_t ethernet = 1;      // Ethernet II, with 802.1Q / QinQ tags
inline constexpr std::uint16_t raw = 101;         // raw IPv4 or IPv6 (DLT_RAW)
inline constexpr std::uint16_t loop = 108;        // OpenBSD loopback, address family in network byte order
inline constexpr std::uint16_t linux_sll = 113;   // Linux cooked capture v1
inline constexpr std::uint16_t ipv4 = 228;        // raw IPv4
inline constexpr std::uint16_t ipv6 = 229;        // raw IPv6
inline constexpr std::uint16_t linux_sll2 = 276;  // Linux cooked capture v2
}  // namespace linktype

// Largest record or block the reader accepts (libpcap uses the same bound for pcapng).
inline constexpr std::uint32_t kMaxBlockSize = 16u << 20;
// Largest packet a pcap record may hold, whatever the file's snaplen says.
inline constexpr std::uint32_t kMaxPacketSize = 262144;

enum class CaptureFormat : std::uint8_t { pcap, pcapng };
std::string_view to_string(CaptureFormat f);

// One captured packet. data points into the reader's buffer and stays valid until
// the next call to CaptureReader::next().
struct Frame {
  const std::uint8_t* data = nullptr;
  std::uint32_t caplen = 0;      // bytes captured (available at data)
  std::uint32_t origlen = 0;     // bytes on the wire
  std::int64_t ts_ns = 0;        // nanoseconds since the Unix epoch
  std::uint16_t linktype = 0;    // a linktype:: value (others are passed through)
  std::uint32_t interface = 0;   // index into CaptureReader::interfaces()
  std::uint64_t offset = 0;      // file offset of the record or block
};

// An interface a capture describes. pcap files have one; pcapng files one per IDB
// (numbered across sections, so the index is unique in the file).
struct CaptureInterface {
  std::uint16_t linktype = 0;
  std::uint32_t snaplen = 0;
  std::string name;              // pcapng if_name, empty when absent
  std::uint32_t section = 0;     // pcapng section the interface belongs to
};

// Kinds of damage the reader detects. Each is counted; the first kMaxKeptIssues
// issues are kept with their file offsets.
enum class CaptureIssueKind : std::uint8_t {
  truncated,             // the file ends inside a record or block
  bad_record_length,     // pcap record length impossible: bytes skipped up to the next plausible record
  caplen_over_snaplen,   // pcap record longer than the file's snaplen (read anyway)
  origlen_below_caplen,  // record claims fewer bytes on the wire than captured (read anyway)
  bad_block_length,      // pcapng block length invalid: the rest of the section is skipped
  bad_block,             // pcapng block body inconsistent with its length: block skipped
  unknown_interface,     // pcapng packet block names an interface no IDB described: block skipped
  bad_section_header,    // pcapng section header unreadable: skipped to the next section
  count_                 // number of kinds (not a kind)
};
std::string_view to_string(CaptureIssueKind k);

struct CaptureIssue {
  CaptureIssueKind kind{};
  std::uint64_t offset = 0;  // file offset of the damaged record or block
  std::string detail;
};

inline constexpr std::size_t kMaxKeptIssues = 1000;

struct CaptureStats {
  std::uint64_t frames = 0;          // packets delivered
  std::uint64_t frame_bytes = 0;     // sum of caplen over delivered packets
  std::uint64_t file_bytes = 0;      // bytes consumed from the file
  std::uint64_t skipped_blocks = 0;  // pcapng blocks of types without packets (name resolution, statistics, ...)
  std::uint64_t skipped_bytes = 0;   // bytes passed over while recovering from damage
  std::array<std::uint64_t, static_cast<std::size_t>(CaptureIssueKind::count_)> issue_counts{};
  std::vector<CaptureIssue> issues;  // the first kMaxKeptIssues, in file order
  std::uint64_t total_issues() const;
  std::uint64_t count(CaptureIssueKind k) const { return issue_counts[static_cast<std::size_t>(k)]; }
};

struct CaptureOptions {
  std::size_t buffer_size = 4u << 20;  // bytes per read from the file
};

// Reads one capture file front to back. Open errors (missing file, not a capture)
// are an Error; damage after the file header is reported through stats().
class CaptureReader {
 public:
  // Opens a file ("-" reads standard input).
  static Expected<CaptureReader> open(const std::string& path, CaptureOptions options = {});
  // Reads a capture held in memory; the bytes must outlive the reader.
  static Expected<CaptureReader> from_memory(std::span<const std::uint8_t> bytes, std::string name = "<memory>");

  CaptureReader(CaptureReader&&) noexcept;
  CaptureReader& operator=(CaptureReader&&) noexcept;
  ~CaptureReader();

  // Fills frame with the next packet; false at the end of the file.
  bool next(Frame& frame);
  // Fills up to frames.size() frames with the next packets and returns how many
  // (0 at the end of the file): the same frames next() would give, fewer calls.
  // All of them stay valid until the next call to next() or next_batch().
  std::size_t next_batch(std::span<Frame> frames);

  CaptureFormat format() const;
  const std::string& name() const;
  const std::vector<CaptureInterface>& interfaces() const;
  const CaptureStats& stats() const;

  struct Impl;

 private:
  explicit CaptureReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace portmatrix
