// The classic pcap format: a 24-byte file header, then records of a 16-byte header
// and the packet bytes. There is no framing to resynchronise on, so after a record
// whose length cannot be right we look for the next offset where two plausible
// record headers follow each other (or one ends exactly at the end of the file).
#include <fmt/format.h>

#include "engine/bytes.hpp"
#include "engine/capture_impl.hpp"

namespace portmatrix {

namespace {

constexpr std::uint32_t kMicro = 0xa1b2c3d4, kNano = 0xa1b23c4d;
constexpr std::size_t kFileHeader = 24, kRecordHeader = 16;
// Two records this far apart in time are not neighbours when resynchronising.
constexpr std::int64_t kResyncMaxGapSeconds = 86400;

struct RecordHeader {
  std::uint32_t sec, subsec, caplen, origlen;
};

class PcapReader final : public CaptureReader::Impl {
 public:
  PcapReader(ByteSource s, std::string n) : Impl(std::move(s), std::move(n), CaptureFormat::pcap) {}

  Status read_file_header() {
    if (!src.ensure(kFileHeader))
      return Error{Error::Kind::input, fmt::format("{}: pcap file header cut short ({} of 24 bytes)", name, src.available())};
    const std::uint8_t* p = src.data();
    std::uint32_t magic = bytes::load_native<std::uint32_t>(p);
    swapped_ = magic != kMicro && magic != kNano;
    bool nanos = (swapped_ ? bytes::swap(magic) : magic) == kNano;
    subsec_limit_ = nanos ? 1000000000u : 1000000u;
    subsec_scale_ = nanos ? 1 : 1000;
    std::uint16_t major = bytes::load<std::uint16_t>(p + 4, swapped_);
    if (major != 2) return Error{Error::Kind::input, fmt::format("{}: unsupported pcap version {}", name, major)};
    snaplen_ = bytes::load<std::uint32_t>(p + 16, swapped_);
    // The upper bits of the link type field carry FCS information, not the type.
    std::uint16_t lt = static_cast<std::uint16_t>(bytes::load<std::uint32_t>(p + 20, swapped_) & 0xffff);
    interfaces.push_back({lt, snaplen_, "", 0});
    linktype_ = lt;
    src.advance(kFileHeader);
    return std::nullopt;
  }

  bool next(Frame& f) override {
    if (!src.ensure(kRecordHeader)) {
      if (src.available() > 0) truncated_at_end(src.offset(), src.available(), kRecordHeader, "record header");
      return false;
    }
    std::uint64_t off = src.offset();
    RecordHeader h = header_at(src.data());
    if (h.caplen > kMaxPacketSize || h.subsec >= subsec_limit_) {
      skip_bad_record(off, h);
      return next(f);
    }
    if (!src.ensure(kRecordHeader + h.caplen)) {
      truncated_at_end(off, src.available(), kRecordHeader + std::uint64_t(h.caplen), "record");
      return false;
    }
    emit(f, h, off);
    return true;
  }

  // Takes the records that are whole in the buffer as they are; the first record
  // that is not (or is damaged) goes through next(), alone in its batch, since
  // refilling the buffer would invalidate the frames before it.
  std::size_t next_batch(Frame* frames, std::size_t max) override {
    std::size_t n = 0;
    while (n < max && src.available() >= kRecordHeader) {
      RecordHeader h = header_at(src.data());
      if (h.caplen > kMaxPacketSize || h.subsec >= subsec_limit_ || src.available() - kRecordHeader < h.caplen) break;
      emit(frames[n++], h, src.offset());
    }
    if (n == 0 && max > 0 && next(frames[0])) n = 1;
    return n;
  }

 private:
  // Delivers the record at the cursor, whose header is h and bytes are in the buffer.
  void emit(Frame& f, const RecordHeader& h, std::uint64_t off) {
    if ((h.caplen > snaplen_ && snaplen_ != 0) || h.origlen < h.caplen) report_lengths(off, h);
    f.data = src.data() + kRecordHeader;
    f.caplen = h.caplen;
    f.origlen = h.origlen < h.caplen ? h.caplen : h.origlen;
    f.ts_ns = std::int64_t(h.sec) * 1000000000 + std::int64_t(h.subsec) * subsec_scale_;
    f.linktype = linktype_;
    f.interface = 0;
    f.offset = off;
    last_sec_ = h.sec;
    src.advance(kRecordHeader + h.caplen);
  }

  // The rare paths, out of line so that next() stays small.
  [[gnu::cold, gnu::noinline]] void skip_bad_record(std::uint64_t off, const RecordHeader& h) {
    std::uint64_t skipped = resync(off + 1);
    issue(CaptureIssueKind::bad_record_length, off,
          fmt::format("record header is not plausible (caplen {}, fraction {}): skipped {} bytes", h.caplen, h.subsec,
                      skipped));
    stats.skipped_bytes += skipped;
  }
  [[gnu::cold, gnu::noinline]] void report_lengths(std::uint64_t off, const RecordHeader& h) {
    if (h.caplen > snaplen_ && snaplen_ != 0)
      issue(CaptureIssueKind::caplen_over_snaplen, off, fmt::format("caplen {} exceeds snaplen {}", h.caplen, snaplen_));
    if (h.origlen < h.caplen)
      issue(CaptureIssueKind::origlen_below_caplen, off, fmt::format("origlen {} below caplen {}", h.origlen, h.caplen));
  }

  RecordHeader header_at(const std::uint8_t* p) const {
    return {bytes::load<std::uint32_t>(p, swapped_), bytes::load<std::uint32_t>(p + 4, swapped_),
            bytes::load<std::uint32_t>(p + 8, swapped_), bytes::load<std::uint32_t>(p + 12, swapped_)};
  }

  // Stricter than what next() accepts: used only to find a record boundary again.
  bool plausible(const RecordHeader& h) const {
    std::uint32_t cap_limit = snaplen_ != 0 && snaplen_ < kMaxPacketSize ? snaplen_ : kMaxPacketSize;
    if (h.caplen > cap_limit || h.origlen < h.caplen || h.origlen > kMaxBlockSize || h.subsec >= subsec_limit_)
      return false;
    if (last_sec_ >= 0) {
      std::int64_t gap = std::int64_t(h.sec) - last_sec_;
      if (gap > kResyncMaxGapSeconds || gap < -kResyncMaxGapSeconds) return false;
    }
    return true;
  }

  // Advances the cursor to the first offset >= from where a plausible record starts
  // (or to the end of the file); returns the number of bytes passed over.
  std::uint64_t resync(std::uint64_t from) {
    std::uint64_t start = src.offset();
    src.advance(static_cast<std::size_t>(from - start));
    while (src.ensure(kRecordHeader)) {
      RecordHeader h = header_at(src.data());
      if (plausible(h)) {
        std::size_t after = kRecordHeader + h.caplen;
        bool fits = src.ensure(after);
        if (fits && !src.ensure(after + 1)) break;  // the record ends the file exactly
        if (fits && src.ensure(after + kRecordHeader) && plausible(header_at(src.data() + after))) break;
      }
      src.advance(1);
    }
    if (src.available() < kRecordHeader) src.advance(src.available());
    return src.offset() - start;
  }

  bool swapped_ = false;
  std::uint32_t subsec_limit_ = 1000000;  // timestamp fractions are below this (micro- or nanoseconds)
  std::int64_t subsec_scale_ = 1000;      // nanoseconds per fraction unit
  std::uint16_t linktype_ = 0;
  std::uint32_t snaplen_ = 0;
  std::int64_t last_sec_ = -1;
};

}  // namespace

Expected<std::unique_ptr<CaptureReader::Impl>> make_pcap_reader(ByteSource src, std::string name) {
  auto r = std::make_unique<PcapReader>(std::move(src), std::move(name));
  if (auto err = r->read_file_header()) return *err;
  return std::unique_ptr<CaptureReader::Impl>(std::move(r));
}

}  // namespace portmatrix
